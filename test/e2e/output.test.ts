import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../support/mcp.js";
import { startSshd, type TestSshd } from "../support/sshd.js";

const MB = 1024 * 1024;
let sshd: TestSshd;
let srv: TestServer;
let id: string;

beforeAll(async () => {
  sshd = await startSshd();
  srv = await startServer({ env: { SSH_MCP_MAX_OUTPUT_BYTES: String(32 * 1024) } });
  await srv.ok("add-host", { host_id: "t", host: sshd.host, port: sshd.port, username: sshd.user, keyPath: sshd.keyPath });
  id = await srv.ok("start-session", { host_id: "t" });
});
afterAll(async () => {
  await srv?.close();
  await sshd?.cleanup();
});

/** Resident memory of the server process in MB (VmRSS now, or VmHWM: the peak so far). */
function memoryMb(field: "VmRSS" | "VmHWM"): number {
  const line = readFileSync(`/proc/${srv.pid}/status`, "utf8").split("\n").find((l) => l.startsWith(field))!;
  return Number(/(\d+) kB/.exec(line)![1]) / 1024;
}

/** Wall time of the same command through plain OpenSSH `ssh host cmd | wc -c`. */
async function plainSshMs(command: string): Promise<number> {
  const started = Date.now();
  const ssh = `ssh -i ${sshd.keyPath} -p ${sshd.port} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR ${sshd.user}@127.0.0.1`;
  await promisify(execFile)("sh", ["-c", `${ssh} "${command}" | wc -c`]);
  return Date.now() - started;
}

describe("huge output", () => {
  it("keeps head and tail of 200 MB within the cap, near plain ssh speed, with flat memory", async () => {
    const command = "head -c 200000000 /dev/zero | tr '\\0' x; echo; echo THE-END";
    await srv.ok("exec", { session_id: id, command: "true" }); // warm
    const rssBefore = memoryMb("VmRSS");
    const started = Date.now();
    const out = await srv.ok("exec", { session_id: id, command, timeout_ms: 120_000 });
    const ours = Date.now() - started;
    const peakGrowth = memoryMb("VmHWM") - rssBefore;
    const plain = await plainSshMs(command);

    expect(out.startsWith("x".repeat(1000))).toBe(true);
    expect(out.endsWith("xxx\nTHE-END\n")).toBe(true);
    expect(out.length).toBeLessThan(33 * 1024);
    expect(out).toMatch(/\[ssh-mcp: \d+ bytes of output omitted; showing the first 16384 and the last 16384 of 200000009 bytes\]/);
    // Loose ratios: the machines are shared. Plain ssh also pays for a handshake.
    expect(ours).toBeLessThan(Math.max(3 * plain, plain + 3000));
    expect(peakGrowth).toBeLessThan(100);
    expect(await srv.ok("exec", { session_id: id, command: "echo after" })).toBe("after\n");
  });
});

describe("binary output", () => {
  it("does not break the session or the JSON-RPC stream", async () => {
    const r = await srv.call("exec", { session_id: id, command: "head -c 200000 /dev/urandom; printf '\\000\\033[2J\\r\\n'" });
    expect(r.isError).toBe(false);
    expect(r.text.length).toBeGreaterThan(1000);
    expect(await srv.ok("exec", { session_id: id, command: "echo fine" })).toBe("fine\n");
    expect((await srv.call("list-sessions")).text).toContain(id);
  });
});

describe("timeouts through MCP", () => {
  it("returns a timed-out command as a tool error with the output so far, and the session carries on", async () => {
    const r = await srv.call("exec", { session_id: id, command: "cd /tmp; echo started; sleep 305", timeout_ms: 700 });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/timed out after 700 ms[\s\S]*Output so far:\nstarted\n/);
    expect(await srv.ok("exec", { session_id: id, command: "pwd" })).toBe("/tmp\n");
  });
});

describe("cancellation", () => {
  it("interrupts the command when the client cancels the call, and the session carries on", async () => {
    const controller = new AbortController();
    const call = srv.client
      .callTool({ name: "exec", arguments: { session_id: id, command: "sleep 308" } }, undefined, { signal: controller.signal })
      .catch((e: unknown) => e);
    // Cancel once the command is really running on the host.
    // No event says a remote process started, so poll for it (bounded).
    const running = () => promisify(execFile)("pgrep", ["-f", "sleep 30[8]"]).then(() => true, () => false);
    for (let i = 0; i < 100 && !(await running()); i++) await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    expect(await call).toBeInstanceOf(Error);
    // The next call waits for the interrupt to finish (it never queues behind a running command), so its answer proves the shell is free.
    expect(await srv.ok("exec", { session_id: id, command: "echo free" })).toBe("free\n");
    expect(await promisify(execFile)("pgrep", ["-f", "sleep 30[8]"]).then(() => "running", () => "stopped")).toBe("stopped");
  });
});
