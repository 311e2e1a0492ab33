// The built server spoken to in raw JSON-RPC lines, for what the SDK client will not send
// (oversized or malformed messages) and for watching the process itself exit.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { SERVER_PATH } from "./mcp.js";

export interface RawServer {
  child: ChildProcessWithoutNullStreams;
  /** Send a request and resolve with the response message. */
  request(method: string, params: unknown): Promise<any>;
  /** initialize + notifications/initialized. */
  initialize(): Promise<void>;
  /** tools/call; resolves with the result. */
  callTool(name: string, args: Record<string, unknown>): Promise<{ isError?: boolean; content: Array<{ text: string }> }>;
  stderr(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/** Spawn the built server on `home` with `env` added. */
export function rawServer(home: string, env: Record<string, string> = {}): RawServer {
  const child = spawn(process.execPath, [SERVER_PATH], {
    env: { PATH: process.env.PATH!, HOME: home, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let buffered = "";
  let stderr = "";
  const waiting = new Map<number, (msg: unknown) => void>();
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdout.on("data", (c: Buffer) => {
    buffered += c.toString();
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const msg = JSON.parse(buffered.slice(0, nl)) as { id?: number };
      buffered = buffered.slice(nl + 1);
      if (msg.id !== undefined) waiting.get(msg.id)?.(msg);
    }
  });
  // A server that exits on its own closes stdin under a pending write; that is expected here.
  child.stdin.on("error", () => undefined);
  let next = 1;
  const request = (method: string, params: unknown) =>
    new Promise<any>((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      child.stdin.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
    });
  // "close", not "exit": by then everything the process wrote to stderr has been read.
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return {
    child,
    request,
    async initialize() {
      await request("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "0" } });
      child.stdin.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
    },
    async callTool(name, args) {
      return (await request("tools/call", { name, arguments: args })).result;
    },
    stderr: () => stderr,
    exited,
  };
}
