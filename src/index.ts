#!/usr/bin/env node
import { createRequire } from "node:module";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { readConfig } from "./config.js";
import { createRuntime } from "./runtime.js";
import { createServer } from "./server/create-server.js";

// stdout is the protocol; everything else goes to stderr.
const log = (message: string) => {
  if (process.stderr.writable) process.stderr.write(`ssh-mcp: ${message}\n`);
};
// A client that stops reading stderr must not matter: unheard, the EPIPE would reach the
// uncaughtException handler below, whose log line fails again, and so on forever.
process.stderr.on("error", () => undefined);

async function main(): Promise<void> {
  const config = readConfig();
  if (config.strictHostKeys === "no") {
    log("WARNING: SSH_MCP_STRICT_HOST_KEYS=no: host keys are not verified; connections can be intercepted.");
  }
  const { version } = createRequire(import.meta.url)("../package.json") as { version: string };
  const { store, sessions } = createRuntime(config, log);
  const { server, cleanup } = createServer({ store, sessions, version, log });

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
  // One bad event from a library must not take every open session down with the server.
  process.on("uncaughtException", (error) => log(`internal error (kept running): ${error.stack ?? error.message}`));
  process.on("unhandledRejection", (reason) => log(`internal error (kept running): ${String(reason)}`));

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

main().catch((error) => {
  console.error(`ssh-mcp: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
