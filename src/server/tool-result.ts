import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { SshMcpError } from "../errors.js";

/** A successful result: plain text, plus structured content when the tool declares an output schema. */
export function textResult(text: string, structuredContent?: Record<string, unknown>): CallToolResult {
  return structuredContent ? { content: [{ type: "text", text }], structuredContent } : { content: [{ type: "text", text }] };
}

/** A failure the model can read and act on: the one place our errors become tool errors. */
export function errorResult(error: unknown, log: (message: string) => void): CallToolResult {
  if (error instanceof SshMcpError) return { content: [{ type: "text", text: error.message }], isError: true };
  // Not one of ours: a bug or an unexpected library failure. Say so, and leave a trace on stderr.
  const message = error instanceof Error ? error.message : String(error);
  log(`unexpected error: ${error instanceof Error && error.stack ? error.stack : message}`);
  return { content: [{ type: "text", text: `Internal error in ssh-mcp: ${message}` }], isError: true };
}

/** Wrap a handler so every throw becomes an error result instead of a protocol error. */
export function safely<A, E>(
  log: (message: string) => void,
  handler: (args: A, extra: E) => Promise<CallToolResult>,
): (args: A, extra: E) => Promise<CallToolResult> {
  return async (args, extra) => {
    try {
      return await handler(args, extra);
    } catch (error) {
      return errorResult(error, log);
    }
  };
}
