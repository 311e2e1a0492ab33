// Drives the built server (build/index.js) over stdio with a HOME in a temp dir, as a client would.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const SERVER_PATH = join(import.meta.dirname, "..", "build", "index.js");
const CALL_TIMEOUT_MS = 180_000;

/** Start the server, add the bench sshd as host "bench", and return a small driver. */
export async function startServer(sshd, { env = {}, nodeArgs = [] } = {}) {
  const home = mkdtempSync(join(tmpdir(), "ssh-mcp-bench-home-"));
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...nodeArgs, SERVER_PATH],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, ...env },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (c) => (stderr = (stderr + c.toString()).slice(-4000)));
  const client = new Client({ name: "ssh-mcp-bench", version: "0.0.0" });
  await client.connect(transport);

  /** Call a tool; throws unless it succeeded. Returns its text. */
  const ok = async (name, args = {}) => {
    const result = await client.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS });
    const text = result.content.map((c) => c.text ?? "").join("");
    if (result.isError) throw new Error(`${name} failed: ${text}\nserver stderr: ${stderr}`);
    return text;
  };

  /** Call a tool; throws unless it succeeded. Returns its structured content. */
  const call = async (name, args = {}) => {
    const result = await client.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS });
    if (result.isError) throw new Error(`${name} failed: ${result.content.map((c) => c.text ?? "").join("")}\nserver stderr: ${stderr}`);
    return result.structuredContent;
  };

  await ok("add-host", { host_id: "bench", host: sshd.host, port: sshd.port, username: sshd.user, keyPath: sshd.keyPath });

  return {
    pid: transport.pid,
    ok,
    call,
    startSession: () => ok("start-session", { host_id: "bench" }),
    exec: (sessionId, command, timeoutMs) =>
      ok("exec", { session_id: sessionId, command, ...(timeoutMs ? { timeout_ms: timeoutMs } : {}) }),
    closeSession: (sessionId) => ok("close-session", { sessionId }),
    async close() {
      await client.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
