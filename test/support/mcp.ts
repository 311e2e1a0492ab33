// Drives the built server (build/index.js) over stdio with the SDK Client, with HOME in a temp dir
// so a developer's real ~/.ssh-mcp is never touched.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";

export const SERVER_PATH = join(import.meta.dirname, "..", "..", "build", "index.js");

export interface ToolCall {
  text: string;
  isError: boolean;
  structured: Record<string, unknown> | undefined;
}

export interface TestServer {
  client: Client;
  home: string;
  /** The server process's pid. */
  pid: number;
  /** What the server wrote to stderr so far. */
  stderr(): string;
  call(name: string, args?: Record<string, unknown>): Promise<ToolCall>;
  /** call() that fails the test unless the tool succeeded; returns its text. */
  ok(name: string, args?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** Start the built server with a fresh HOME (or the given one) and connect a client to it. */
export async function startServer(
  options: {
    env?: Record<string, string>;
    home?: string;
    /** What the client says it can do (e.g. elicitation), and handlers to set before it connects. */
    capabilities?: ClientCapabilities;
    setup?: (client: Client) => void;
  } = {},
): Promise<TestServer> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), "ssh-mcp-home-"));
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, ...options.env };
  const transport = new StdioClientTransport({ command: process.execPath, args: [SERVER_PATH], env, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const client = new Client({ name: "ssh-mcp-tests", version: "0.0.0" }, { capabilities: options.capabilities ?? {} });
  options.setup?.(client);
  await client.connect(transport);
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<ToolCall> => {
    const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 });
    const content = result.content as Array<{ type: string; text?: string }>;
    return {
      text: content.map((c) => c.text ?? "").join(""),
      isError: result.isError === true,
      structured: result.structuredContent as Record<string, unknown> | undefined,
    };
  };
  return {
    client,
    home,
    pid: transport.pid!,
    stderr: () => stderr,
    call,
    async ok(name, args) {
      const r = await call(name, args);
      if (r.isError) throw new Error(`${name} failed: ${r.text}`);
      return r.text;
    },
    async close() {
      await client.close();
      // The server may still be writing its audit log as it exits.
      if (!options.home) rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    },
  };
}
