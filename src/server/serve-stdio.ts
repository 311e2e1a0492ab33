import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

/**
 * Serve `server` on stdin/stdout until the client goes away or a signal comes, then run
 * `cleanup` (which closes every SSH session) and exit, saying why on stderr.
 */
export async function serveStdio(server: McpServer, cleanup: () => Promise<void>, log: (message: string) => void): Promise<void> {
  let closing = false;
  const shutdown = async (reason: string, code = 0) => {
    if (closing) return;
    closing = true;
    log(`shutting down: ${reason}`);
    await cleanup();
    await server.close().catch(() => undefined);
    process.exit(code);
  };
  // The SDK's stdio transport does not notice a closed stdin, so watch for it here.
  process.stdin.on("end", () => shutdown("the client closed stdin"));
  process.stdin.on("close", () => shutdown("the client closed stdin"));
  process.stdin.on("error", (error) => shutdown(`cannot read from the client: ${error.message}`, 1));
  process.stdout.on("error", (error) => shutdown(`cannot write to the client: ${error.message}`, 1));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));

  const transport = new StdioServerTransport();
  let lastError = "";
  transport.onerror = (error) => {
    lastError = describeTransportError(error);
    log(lastError);
  };
  // The transport closes itself only when it cannot go on (a message over its buffer limit); without
  // this the server would linger, holding SSH connections, with nobody to answer.
  transport.onclose = () => void shutdown(`the connection to the client closed${lastError ? ` after: ${lastError}` : ""}`, 1);
  await server.connect(transport);
}

/** A transport error for stderr, never quoting the client's message (it may hold a password). */
function describeTransportError(error: Error): string {
  if (/ReadBuffer exceeded/.test(error.message)) {
    return "a message from the client was larger than the 10 MiB the stdio transport accepts";
  }
  if (error instanceof SyntaxError) return "ignored a line from the client that is not JSON";
  if (error.name === "ZodError") return "ignored a message from the client that is not JSON-RPC";
  return `transport error: ${error.message.slice(0, 200)}`;
}
