// Commands that outlive one call: SessionManager.run hands back, readOutput follows, interrupt
// stops; against a real sshd.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionBusyError, SessionEndedError, SessionNotFoundError, UnreadEndingError } from "../../src/lib.js";
import type { CommandReport } from "../../src/session/command.js";
import { running } from "../support/processes.js";
import { testRuntime, type TestRuntime } from "../support/runtime.js";
import { startSshd, type TestSshd } from "../support/sshd.js";

let sshd: TestSshd;
let rt: TestRuntime;

beforeAll(async () => {
  sshd = await startSshd();
  rt = testRuntime(sshd, { SSH_MCP_MAX_OUTPUT_BYTES: String(16 * 1024) });
  await rt.addHost();
});
afterAll(async () => {
  await rt?.dispose();
  await sshd?.cleanup();
});

const session = async () => (await rt.sessions.start("test")).sessionId;


/** readOutput until the command has ended; every report in order. */
async function readToEnd(id: string): Promise<CommandReport[]> {
  const reports: CommandReport[] = [];
  for (;;) {
    const report = await rt.sessions.readOutput(id, 2000);
    expect(report).toBeDefined();
    reports.push(report!);
    if (report!.status !== "running") return reports;
  }
}

/** Poll list-sessions until the session's command has ended (no event reaches a caller that is not waiting). */
async function untilEnded(id: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (!rt.sessions.list().find((s) => s.sessionId === id)?.running) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the command did not end");
}

const LOOP = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line-$i; sleep 0.5; done";
const ALL_LINES = Array.from({ length: 12 }, (_, i) => `line-${i + 1}\n`).join("");

describe("hand-back", () => {
  it("hands back a running command with its first lines, then read-output gives the rest, every line once", async () => {
    const id = await session();
    const started = Date.now();
    const first = await rt.sessions.run(id, LOOP, { yieldMs: 1500 });
    expect(first.status).toBe("running");
    expect(first.exitCode).toBeNull();
    expect(first.output).toMatch(/^line-1\n/);
    expect(first.output).not.toContain("line-12");
    expect(Date.now() - started).toBeLessThan(5000);
    expect(rt.sessions.list().find((s) => s.sessionId === id)?.running?.command).toBe(LOOP);

    const rest = await readToEnd(id);
    const last = rest.at(-1)!;
    expect(last).toMatchObject({ status: "exited", exitCode: 0 });
    expect(first.output + rest.map((r) => r.output).join("")).toBe(ALL_LINES);
    // The ending was reported once: now there is nothing to read.
    expect(await rt.sessions.readOutput(id, 0)).toBeUndefined();
  });

  it("refuses another command at once while one runs, naming it, and never queues", async () => {
    const id = await session();
    await rt.sessions.run(id, "sleep 3; echo slept", { yieldMs: 100 });
    const asked = Date.now();
    const refused = await rt.sessions.run(id, "echo next").catch((e: unknown) => e);
    expect(Date.now() - asked).toBeLessThan(1000);
    expect(refused).toBeInstanceOf(SessionBusyError);
    expect((refused as Error).message).toMatch(/still running `sleep 3; echo slept` \(for \d+ (ms|s)\).*read-output.*interrupt.*another session/);
    expect((await readToEnd(id)).at(-1)).toMatchObject({ status: "exited", output: "slept\n" });
    expect((await rt.sessions.run(id, "echo next")).output).toBe("next\n");
  });

  it("refuses a second exec while the first is still waiting, too", async () => {
    const id = await session();
    const first = rt.sessions.run(id, "sleep 1; echo one", { yieldMs: 10_000 });
    await expect(rt.sessions.run(id, "echo two")).rejects.toBeInstanceOf(SessionBusyError);
    expect(await first).toMatchObject({ status: "exited", output: "one\n" });
  });

  it("ends a failing command after a hand-back with its exit code", async () => {
    const id = await session();
    expect((await rt.sessions.run(id, "sleep 1; echo bad; (exit 3)", { yieldMs: 100 })).status).toBe("running");
    expect((await readToEnd(id)).at(-1)).toMatchObject({ status: "exited", exitCode: 3 });
  });

  it("reports an ending nobody asked for exactly once: the next exec carries it and runs nothing", async () => {
    const id = await session();
    await rt.sessions.run(id, "sleep 0.5; echo finished; (exit 4)", { yieldMs: 0 });
    await untilEnded(id);
    const refused = await rt.sessions.run(id, "echo should-not-run > /dev/null; echo ran").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UnreadEndingError);
    expect((refused as UnreadEndingError).report).toMatchObject({ status: "exited", exitCode: 4, output: "finished\n" });
    expect((refused as Error).message).toMatch(/Nothing was run.*send your command again[\s\S]*exit code 4[\s\S]*finished/);
    expect(await rt.sessions.readOutput(id, 0)).toBeUndefined();
    expect((await rt.sessions.run(id, "echo ran")).output).toBe("ran\n");
  });

  it("keeps the timeout as the limit on the command's whole life and reports it to the next read", async () => {
    const id = await session();
    const first = await rt.sessions.run(id, "echo begun; sleep 311", { yieldMs: 200, timeoutMs: 1500 });
    expect(first).toMatchObject({ status: "running", output: "begun\n" });
    const last = (await readToEnd(id)).at(-1)!;
    expect(last).toMatchObject({ status: "timed_out", sessionKept: true, timeoutMs: 1500 });
    expect(running("sleep 311")).toBe(false);
    expect((await rt.sessions.run(id, "echo alive")).output).toBe("alive\n");
  });

  it("caps each unread span and says how much was dropped, with memory bounded", async () => {
    const id = await session();
    const before = process.memoryUsage().rss;
    await rt.sessions.run(id, "head -c 300000000 /dev/zero | tr '\\0' x; echo; echo THE-END", { yieldMs: 0 });
    const last = (await readToEnd(id)).at(-1)!;
    expect(last.status).toBe("exited");
    expect(last.output).toMatch(/bytes of output omitted/);
    expect(last.output).toMatch(/THE-END\n$/);
    expect(Buffer.byteLength(last.output)).toBeLessThan(17 * 1024);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });
});

describe("interrupt", () => {
  it("stops the whole process tree and keeps cwd, variables and earlier background jobs", async () => {
    const id = await session();
    await rt.sessions.run(id, "cd /tmp; KEPT=yes; sleep 321 &");
    const first = await rt.sessions.run(id, "echo go; sh -c 'sleep 322 & sleep 323; wait'", { yieldMs: 300 });
    expect(first.status).toBe("running");
    const report = await rt.sessions.interrupt(id);
    expect(report).toMatchObject({ status: "interrupted", sessionKept: true });
    expect(execFileSync("ps", ["-eo", "pid,ppid,args"], { encoding: "utf8" }).split("\n").filter((l) => /sleep 32[23]/.test(l))).toEqual([]);
    expect(running("sleep 322")).toBe(false);
    expect(running("sleep 323")).toBe(false);
    expect(running("sleep 321")).toBe(true);
    expect((await rt.sessions.run(id, "echo $KEPT $PWD; kill %1")).output).toBe("yes /tmp\n");
    // The interrupt reported the ending itself.
    expect(await rt.sessions.readOutput(id, 0)).toBeUndefined();
  });

  it("says nothing was running on an idle session", async () => {
    const id = await session();
    expect(await rt.sessions.interrupt(id)).toBeUndefined();
    expect(await rt.sessions.readOutput(id, 0)).toBeUndefined();
  });
});

describe("the session around a long command", () => {
  it("reports a session that ended under a running command to the next read, with the reason, once", async () => {
    const id = await session();
    const first = await rt.sessions.run(id, "echo before; sleep 0.5; kill -KILL $$", { yieldMs: 0 });
    await rt.sessions.waitForEnd(id);
    const report = await rt.sessions.readOutput(id, 0);
    expect(report!.status).toBe("session_ended");
    expect(first.output + report!.output).toBe("before\n");
    expect(report!.reason).toMatch(/killed by signal/);
    await expect(rt.sessions.readOutput(id, 0)).rejects.toBeInstanceOf(SessionNotFoundError);
  });

  it("reports it to the next exec instead, with the output before it, and runs nothing", async () => {
    const id = await session();
    const first = await rt.sessions.run(id, "echo before; sleep 0.5; kill -KILL $$", { yieldMs: 0 });
    await rt.sessions.waitForEnd(id);
    const error = await rt.sessions.run(id, "echo after").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionEndedError);
    expect((error as Error).message).toMatch(/killed by signal/);
    expect(first.output + (error as SessionEndedError).output).toBe("before\n");
    await expect(rt.sessions.readOutput(id, 0)).rejects.toBeInstanceOf(SessionNotFoundError);
  });

  it("never closes a session for idleness while its command runs, and counts from the command's end", async () => {
    const idle = testRuntime(sshd, { SSH_MCP_IDLE_TIMEOUT_MS: "800" });
    try {
      await idle.addHost();
      const id = (await idle.sessions.start("test")).sessionId;
      await idle.sessions.run(id, "sleep 2.5; echo done", { yieldMs: 0 });
      const report = await idle.sessions.readOutput(id, 10_000);
      const endedAt = Date.now();
      expect(report).toMatchObject({ status: "exited", output: "done\n" });
      expect(await idle.sessions.waitForEnd(id)).toMatch(/idle for 800 ms/);
      expect(Date.now() - endedAt).toBeGreaterThan(400);
    } finally {
      await idle.dispose();
    }
  });

  it("keeps the library's exec waiting until the end, past the hand-back time", async () => {
    const quick = testRuntime(sshd, { SSH_MCP_EXEC_YIELD_MS: "100" });
    try {
      await quick.addHost();
      const id = (await quick.sessions.start("test")).sessionId;
      expect(await quick.sessions.exec(id, "sleep 1; echo whole")).toEqual({ exitCode: 0, output: "whole\n" });
    } finally {
      await quick.dispose();
    }
  });
});

describe("progress", () => {
  it("reports the last output line while waiting, with elapsed time strictly increasing", async () => {
    const id = await session();
    const seen: Array<{ elapsedMs: number; message?: string }> = [];
    const report = await rt.sessions.run(id, "for i in 1 2 3 4 5 6; do echo step-$i; sleep 0.5; done; printf '\\n\\n'", {
      onProgress: (p) => seen.push(p),
    });
    expect(report).toMatchObject({ status: "exited", exitCode: 0 });
    expect(seen.length).toBeGreaterThanOrEqual(3);
    // At most twice a second.
    expect(seen.length).toBeLessThanOrEqual(Math.ceil(report.elapsedMs / 500) + 1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.elapsedMs).toBeGreaterThan(seen[i - 1]!.elapsedMs);
    expect(seen.map((p) => p.message)).toContain("step-3");
    for (const p of seen) if (p.message !== undefined) expect(p.message).toMatch(/^step-\d$/);
  });
});
