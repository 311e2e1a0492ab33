// Long-running commands through the SDK client over stdio: exec hands back, read-output
// follows, interrupt stops, progress keeps a client with a short timeout waiting.
import { readFileSync } from "node:fs";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer, type ToolCall } from "../support/mcp.js";
import { running } from "../support/processes.js";
import { startSshd, type TestSshd } from "../support/sshd.js";

let sshd: TestSshd;
let srv: TestServer;

beforeAll(async () => {
  sshd = await startSshd();
  srv = await startServer({ env: { SSH_MCP_MAX_OUTPUT_BYTES: String(16 * 1024) } });
  await srv.ok("add-host", { host_id: "t", host: sshd.host, port: sshd.port, username: sshd.user, keyPath: sshd.keyPath });
});
afterAll(async () => {
  await srv?.close();
  await sshd?.cleanup();
});

const session = () => srv.ok("start-session", { host_id: "t" });


/** read-output until the command has ended; every result in order. */
async function readToEnd(id: string): Promise<ToolCall[]> {
  const results: ToolCall[] = [];
  for (;;) {
    const r = await srv.call("read-output", { session_id: id, wait_ms: 2000 });
    results.push(r);
    if (r.structured?.status !== "running") return results;
  }
}

/** The output a running result carries: its text after the status line. */
const outputOf = (r: ToolCall) => (r.structured?.status === "running" ? String(r.structured.output) : r.text);

describe("exec hands back, read-output follows", () => {
  it("returns a 6-second loop as running with its first lines, refuses exec at once, and read-output gives the rest once", async () => {
    const id = await session();
    const loop = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line-$i; sleep 0.5; done";
    const first = await srv.call("exec", { session_id: id, command: loop, yield_ms: 1500 });
    expect(first.isError).toBe(false);
    const [status, ...rest] = first.text.split("\n");
    expect(status).toMatch(/still running after \d+ s\. Call read-output with session_id '.+'.*interrupt/);
    expect(rest.join("\n")).toBe(first.structured!.output);
    expect(first.structured).toMatchObject({ sessionId: id, status: "running", exitCode: null, outputTruncated: false });
    expect(outputOf(first)).toMatch(/^line-1\n/);
    expect(outputOf(first)).not.toContain("line-12");

    const asked = Date.now();
    const refused = await srv.call("exec", { session_id: id, command: "echo hi" });
    expect(Date.now() - asked).toBeLessThan(1500);
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/still running `for i in 1 2 3/);
    expect(refused.text).toMatch(/read-output.*interrupt.*another session/);

    const reads = await readToEnd(id);
    const last = reads.at(-1)!;
    expect(last.isError).toBe(false);
    expect(last.structured).toMatchObject({ status: "exited", exitCode: 0 });
    const all = [first, ...reads].map(outputOf).join("");
    expect(all).toBe(Array.from({ length: 12 }, (_, i) => `line-${i + 1}\n`).join(""));

    const idle = await srv.call("read-output", { session_id: id, wait_ms: 0 });
    expect(idle).toMatchObject({ isError: false, text: `Nothing is running in session '${id}' and there is no unread output.` });
    expect(idle.structured).toMatchObject({ status: "idle", command: null });
  });

  it("ends a failing command after a hand-back as an error with its exit code", async () => {
    const id = await session();
    expect((await srv.call("exec", { session_id: id, command: "sleep 1; echo broken; (exit 7)", yield_ms: 100 })).structured?.status).toBe("running");
    const last = (await readToEnd(id)).at(-1)!;
    expect(last.isError).toBe(true);
    expect(last.text).toBe("Command failed with exit code 7. Output:\nbroken\n");
    expect(last.structured).toMatchObject({ status: "exited", exitCode: 7 });
  });

  it("reports the timeout of a handed-back command to the next read-output", async () => {
    const id = await session();
    await srv.call("exec", { session_id: id, command: "sleep 331", yield_ms: 100, timeout_ms: 1200 });
    const last = (await readToEnd(id)).at(-1)!;
    expect(last.isError).toBe(true);
    expect(last.text).toMatch(/^Command timed out after 1200 ms\. It was interrupted; the session is still open/);
    expect(last.structured).toMatchObject({ status: "timed_out", exitCode: null });
    expect(running("sleep 331")).toBe(false);
  });

  it("comes back as running before 60 s without yield_ms, so a default client never times out", { timeout: 90_000 }, async () => {
    const id = await session();
    const started = Date.now();
    const r = await srv.call("exec", { session_id: id, command: "echo started; sleep 65" });
    expect(Date.now() - started).toBeLessThan(50_000);
    expect(r.structured).toMatchObject({ status: "running", output: "started\n" });
    expect((await srv.call("interrupt", { session_id: id })).structured?.status).toBe("interrupted");
  });

  it("keeps memory bounded while nobody reads 1 GB of output, and says how much was dropped", { timeout: 90_000 }, async () => {
    const id = await session();
    const hwm = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${srv.pid}/status`, "utf8"))![1]) / 1024;
    const before = hwm();
    await srv.call("exec", { session_id: id, command: "head -c 1000000000 /dev/zero | tr '\\0' x; echo; echo THE-END", yield_ms: 0 });
    const last = (await readToEnd(id)).at(-1)!;
    expect(last.structured).toMatchObject({ status: "exited", exitCode: 0, outputTruncated: true });
    expect(last.text).toMatch(/\[ssh-mcp: \d+ bytes of output omitted; showing the first \d+ and the last \d+ of \d+ bytes\]/);
    expect(last.text).toMatch(/THE-END\n$/);
    expect(hwm() - before).toBeLessThan(50);
  });
});

describe("interrupt", () => {
  it("stops the command's whole process tree, returns the rest of its output, and keeps cwd and variables", async () => {
    const id = await session();
    await srv.ok("exec", { session_id: id, command: "cd /var; MARK=here" });
    await srv.call("exec", { session_id: id, command: "echo one; sh -c 'sleep 341 & sleep 342; wait'", yield_ms: 300 });
    const r = await srv.call("interrupt", { session_id: id });
    expect(r.isError).toBe(false);
    expect(r.text).toMatch(/^Interrupted `echo one; sh -c .*` after \d+ (ms|s); the session keeps its working directory/);
    expect(r.structured).toMatchObject({ status: "interrupted", exitCode: null });
    expect(running("sleep 341")).toBe(false);
    expect(running("sleep 342")).toBe(false);
    expect(await srv.ok("exec", { session_id: id, command: "echo $MARK $PWD" })).toBe("here /var\n");
  });

  it("says nothing was running on an idle session, without an error", async () => {
    const id = await session();
    const r = await srv.call("interrupt", { session_id: id });
    expect(r).toMatchObject({ isError: false, text: `Nothing was running in session '${id}'.` });
  });

  it("refuses unknown arguments and out-of-range waits", async () => {
    const id = await session();
    expect((await srv.call("read-output", { session_id: id, wait: 5 })).text).toMatch(/Unknown argument 'wait'/);
    expect((await srv.call("read-output", { session_id: id, wait_ms: -1 })).text).toMatch(/wait_ms/);
    expect((await srv.call("exec", { session_id: id, command: "true", yield_ms: 1.5 })).text).toMatch(/yield_ms/);
  });
});

describe("progress", () => {
  it("sends progress while waiting: increasing, at most twice a second, with the last output line", async () => {
    const id = await session();
    const seen: Array<{ progress: number; message?: string }> = [];
    const started = Date.now();
    const result = await srv.client.callTool(
      { name: "exec", arguments: { session_id: id, command: "for i in 1 2 3 4 5 6 7 8; do echo tick-$i; sleep 0.5; done" } },
      CallToolResultSchema,
      { onprogress: (p) => seen.push(p) },
    );
    const seconds = (Date.now() - started) / 1000;
    expect(result.structuredContent).toMatchObject({ status: "exited", exitCode: 0 });
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.length).toBeLessThanOrEqual(Math.ceil(seconds * 2) + 1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.progress).toBeGreaterThan(seen[i - 1]!.progress);
    expect(seen.some((p) => /^tick-[2-8]$/.test(p.message ?? ""))).toBe(true);
  });

  it("lets a client whose own timeout is 5 s finish a 15 s command in one exec, by resetting on progress", { timeout: 60_000 }, async () => {
    const id = await session();
    const result = await srv.client.callTool(
      { name: "exec", arguments: { session_id: id, command: "sleep 15; echo finally", yield_ms: 60_000 } },
      CallToolResultSchema,
      { timeout: 5000, resetTimeoutOnProgress: true, onprogress: () => undefined },
    );
    expect(result.content).toEqual([{ type: "text", text: "finally\n" }]);
  });
});
