import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuthenticationError,
  CommandTimeoutError,
  ConnectionError,
  CredentialsError,
  SessionEndedError,
  SessionNotFoundError,
} from "../../src/lib.js";
import { startAgent } from "../support/agent.js";
import { running } from "../support/processes.js";
import { testRuntime, type TestRuntime } from "../support/runtime.js";
import { createPasswordUser, freePort, startSshd, type TestSshd } from "../support/sshd.js";

let sshd: TestSshd;
let rt: TestRuntime;
let id: string;

beforeAll(async () => {
  sshd = await startSshd();
  rt = testRuntime(sshd, { SSH_MCP_EXEC_TIMEOUT_MS: "20000" });
  await rt.addHost();
  id = (await rt.sessions.start("test")).sessionId;
});
afterAll(async () => {
  await rt?.dispose();
  await sshd?.cleanup();
});

const run = (command: string, timeoutMs?: number, sessionId = id) => rt.sessions.exec(sessionId, command, { timeoutMs });


describe("exec output", () => {
  it("returns output exactly: no prompt, echo, added newline or escape codes", async () => {
    expect(await run("printf 'no newline'")).toEqual({ exitCode: 0, output: "no newline" });
    expect((await run("echo one; echo two")).output).toBe("one\ntwo\n");
    expect((await run("true")).output).toBe("");
  });

  it("keeps unicode and multi-line output intact", async () => {
    const text = "héllo wörld ✓ 日本語 🚀\nline two\n\nline four";
    expect((await run(`printf '%s' '${text}'`)).output).toBe(text);
  });

  it("merges stderr into the output, in order", async () => {
    expect((await run("echo out; echo err >&2; echo out2")).output).toBe("out\nerr\nout2\n");
  });

  it("is not fooled by output that looks like a completion marker", async () => {
    const fake = "__MCP_DONE__0\n__MCP_0123456789abcdef0123456789abcdef_E0\n";
    expect((await run(`printf '${fake}'; echo after`)).output).toBe(fake + "after\n");
  });

  it("reports a non-zero exit code with the output and keeps the session", async () => {
    expect(await run("echo partial; exit_code() { return 3; }; exit_code")).toEqual({ exitCode: 3, output: "partial\n" });
    expect((await run("echo still here")).output).toBe("still here\n");
  });

  it("passes binary output through without breaking the session", async () => {
    const r = await run("head -c 4096 /dev/urandom; printf '\\000\\377\\033[31m'");
    expect(r.exitCode).toBe(0);
    expect((await run("echo ok")).output).toBe("ok\n");
  });
});

describe("shell state persists between commands", () => {
  it("keeps the working directory, variables, functions and background jobs", async () => {
    await run("cd /tmp && export GREETING=hi && LOCAL=42 && greet() { echo \"$GREETING $1\"; }");
    await run("sleep 300 & echo $! > /tmp/ssh-mcp-test-bgjob");
    const r = await run("pwd; echo $GREETING $LOCAL; greet you; kill -0 $(cat /tmp/ssh-mcp-test-bgjob) && echo job alive");
    expect(r.output).toBe("/tmp\nhi 42\nhi you\njob alive\n");
    await run("kill $(cat /tmp/ssh-mcp-test-bgjob); rm -f /tmp/ssh-mcp-test-bgjob; cd ~");
  });
});

describe("commands that would hang", () => {
  it("gives stdin EOF, so cat, read and prompts end instead of waiting for input", async () => {
    // Each takes milliseconds; one that waited for input would never end, and fails here as a CommandTimeoutError
    // well within the test's own 30 s. No wall-clock bound: a loaded machine makes these slower, not wrong.
    const hungAfterMs = 10_000;
    expect(await run("cat", hungAfterMs)).toEqual({ exitCode: 0, output: "" });
    expect((await run("read x; echo \"read=$? x=[$x]\"", hungAfterMs)).output).toBe("read=1 x=[]\n");
    expect((await run("head -n1", hungAfterMs)).exitCode).toBe(0);
  });

  it("returns the shell's syntax error for malformed commands and carries on", async () => {
    for (const bad of ['echo "unterminated', "echo 'open", "if true; then echo", "echo $(", "(echo"]) {
      const r = await run(bad, 5000);
      expect(r.exitCode, bad).not.toBe(0);
      expect(r.output, bad).toMatch(/syntax|unexpected|matching|EOF/i);
    }
    expect((await run("echo fine")).output).toBe("fine\n");
  });

  it("runs an unterminated heredoc and a trailing backslash without hanging", async () => {
    expect((await run("cat <<EOF\nbody line", 5000)).output).toContain("body line");
    expect((await run("echo tail \\", 5000)).exitCode).toBe(0);
    expect((await run("echo fine")).output).toBe("fine\n");
  });

  it("cannot break out of its quoting to run shell code of its own", async () => {
    const r = await run("echo 'a'\\''b'; printf '%s\\n' \"$'\\x27'\"; echo '; echo injected");
    expect(r.output).not.toContain("injected\n__");
    expect((await run("echo fine")).output).toBe("fine\n");
  });
});

describe("timeouts", () => {
  it("interrupts a command that runs too long, really stops it, and keeps the session's state", async () => {
    await run("cd /usr; export KEEP=yes; sleep 301 &");
    const started = Date.now();
    const error = await run("echo before; sleep 302 | cat; echo never", 800).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect((error as CommandTimeoutError).sessionKept).toBe(true);
    expect((error as CommandTimeoutError).output).toContain("before");
    expect((error as Error).message).toMatch(/timed out after 800 ms/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(running("sleep 302")).toBe(false);
    expect(running("sleep 301")).toBe(true); // the earlier background job is left alone
    expect((await run("pwd; echo $KEEP")).output).toBe("/usr\nyes\n");
    await run("pkill -f 'sleep 30[1]'; cd ~; true");
  });

  it("kills a process that ignores SIGINT and SIGTERM, and runs nothing after it", async () => {
    const error = await run(`sh -c 'trap "" INT TERM; sleep 304; :'; echo never`, 500).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect((error as CommandTimeoutError).sessionKept).toBe(true);
    // bash reports a foreground process killed by SIGKILL, as it would at a prompt (README).
    expect((error as CommandTimeoutError).output).toMatch(/^(|.*\d+ Killed .*\n)$/);
    expect(running("sleep 304")).toBe(false);
  });

  it("stops the callers of an interrupted function too: what they start after it is stopped before it can act", async () => {
    await run("inner() { sleep 305; }; outer() { inner; sleep 306; echo never > /tmp/ssh-mcp-test-never; }; rm -f /tmp/ssh-mcp-test-never");
    const error = await run("outer", 600).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect((error as CommandTimeoutError).sessionKept).toBe(true);
    expect(running("sleep 305")).toBe(false);
    expect(running("sleep 306")).toBe(false);
    expect(existsSync("/tmp/ssh-mcp-test-never")).toBe(false);
  });

  it("a timed-out command does not block the next call", async () => {
    const slow = run("sleep 303", 500).catch((e: unknown) => e);
    const next = run("echo next");
    expect(await slow).toBeInstanceOf(CommandTimeoutError);
    expect((await next).output).toBe("next\n");
  });

  it("stops a loop running inside the shell itself and keeps the session", async () => {
    const own = (await rt.sessions.start("test")).sessionId;
    await run("cd /tmp", undefined, own);
    const error = await run("i=0; while :; do i=$((i+1)); done", 500, own).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect((error as CommandTimeoutError).sessionKept).toBe(true);
    expect((await run("pwd", undefined, own)).output).toBe("/tmp\n");
  });

  it("closes the session and says why when the shell stays silent after an interrupt (exec >file)", async () => {
    const own = (await rt.sessions.start("test")).sessionId;
    const error = await run("exec >/dev/null", 500, own).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect((error as CommandTimeoutError).sessionKept).toBe(false);
    expect((error as Error).message).toMatch(/did not answer afterwards.*exec >file/);
    await expect(run("echo x", undefined, own)).rejects.toThrow(/did not answer after a command was interrupted/);
  });
});

describe("the shell ending", () => {
  it("reports `exit 7` promptly with its status, removes the session, and never reconnects silently", async () => {
    const own = (await rt.sessions.start("test")).sessionId;
    const error = await run("echo bye; exit 7", undefined, own).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionEndedError);
    expect((error as Error).message).toMatch(/exited with status 7/);
    expect((error as SessionEndedError).output).toBe("bye\n");
    expect((error as Error).message).toMatch(/wrap such scripts in \( \.\.\. \)/);
    expect(rt.sessions.list().map((s) => s.sessionId)).not.toContain(own);
    const late = await run("echo again", undefined, own).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(SessionNotFoundError);
    expect((late as Error).message).toMatch(/gone: the shell exited with status 7.*start-session/);
  });
});

describe("commands that replace the shell", () => {
  it("ends the session with a message that names exec when a command replaces the shell", async () => {
    const own = (await rt.sessions.start("test")).sessionId;
    const error = await run("exec bash", 5000, own).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionEndedError);
    expect((error as Error).message).toMatch(/exited with status 0.*`exec` \(which replaces the shell\)/);
  });
});

describe("limits on input", () => {
  it("refuses empty, blank, NUL-containing and over-long commands before sending anything", async () => {
    await expect(run("")).rejects.toThrow(/empty/);
    await expect(run("   \n\t")).rejects.toThrow(/empty/);
    await expect(run("echo a\0b")).rejects.toThrow(/NUL/);
    await expect(run("x".repeat(600 * 1024))).rejects.toThrow(/limit is 524288/);
    // Node would fire a longer timer at once, so the bound is refused rather than silently broken.
    await expect(run("true", 2 ** 31)).rejects.toThrow(/Invalid timeout_ms 2147483648/);
    await expect(run("true", 0)).rejects.toThrow(/Invalid timeout_ms 0/);
  });

  it("accepts a long heredoc that writes a file", async () => {
    const body = Array.from({ length: 4000 }, (_, i) => `line ${i} with 'quotes' and $dollars \\ and "double"`).join("\n");
    const r = await run(`cat > /tmp/ssh-mcp-heredoc <<'EOF'\n${body}\nEOF\nwc -l < /tmp/ssh-mcp-heredoc; rm /tmp/ssh-mcp-heredoc`);
    expect(r.output.trim()).toBe("4000");
  });
});

describe("concurrency", () => {
  it("queues calls on one session and gives each exactly its own output", async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => run(`sleep 0.0${i % 3}; echo call-${i}`)));
    expect(results.map((r) => r.output)).toEqual(Array.from({ length: 10 }, (_, i) => `call-${i}\n`));
  });

  it("gives a requested session id to only one of two concurrent starts", async () => {
    const results = await Promise.allSettled([rt.sessions.start("test", "twin"), rt.sessions.start("test", "twin")]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(String((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason)).toMatch(/already open/);
    await rt.sessions.close("twin");
  });

  it("runs 20 sessions in parallel, independently", async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => rt.sessions.start("test").then((s) => s.sessionId)));
    const started = Date.now();
    const outputs = await Promise.all(ids.map((s, i) => run(`cd /tmp; X=${i}; sleep 1; echo $X $PWD`, undefined, s)));
    const elapsed = Date.now() - started;
    expect(outputs.map((r) => r.output)).toEqual(ids.map((_, i) => `${i} /tmp\n`));
    expect(elapsed).toBeLessThan(20 * 1000 * 0.5); // far from serial
    await Promise.all(ids.map((s) => rt.sessions.close(s)));
  });
});

describe("idle timeout", () => {
  it("closes a session after SSH_MCP_IDLE_TIMEOUT_MS without use and drops it from the list", async () => {
    const idle = testRuntime(sshd, { SSH_MCP_IDLE_TIMEOUT_MS: "300" });
    try {
      await idle.addHost();
      const s = (await idle.sessions.start("test")).sessionId;
      expect(await idle.sessions.waitForEnd(s)).toMatch(/idle for 300 ms/);
      expect(idle.sessions.list()).toEqual([]);
      await expect(idle.sessions.exec(s, "true")).rejects.toThrow(/idle for 300 ms/);
    } finally {
      await idle.dispose();
    }
  });
});

describe("authentication", () => {
  it("uses a private key at keyPath, with ~ expanded", async () => {
    expect(sshd.keyPath.startsWith("/")).toBe(true);
    const r = testRuntime(sshd);
    try {
      execFileSync("mkdir", ["-p", `${r.home}/.ssh`]);
      execFileSync("cp", [sshd.keyPath, `${r.home}/.ssh/id_test`]);
      await r.addHost("tilde", { keyPath: "~/.ssh/id_test" });
      const s = (await r.sessions.start("tilde")).sessionId;
      expect((await r.sessions.exec(s, "whoami")).output).toBe(`${sshd.user}\n`);
    } finally {
      await r.dispose();
    }
  });

  it("unlocks an encrypted key with SSH_MCP_KEY_PASSPHRASE, and says what to set without it", async () => {
    const withPass = testRuntime(sshd, { SSH_MCP_KEY_PASSPHRASE: sshd.passphrase });
    const without = testRuntime(sshd);
    const wrong = testRuntime(sshd, { SSH_MCP_KEY_PASSPHRASE: "wrong" });
    try {
      for (const r of [withPass, without, wrong]) await r.addHost("enc", { keyPath: sshd.encryptedKeyPath });
      const s = (await withPass.sessions.start("enc")).sessionId;
      expect((await withPass.sessions.exec(s, "echo unlocked")).output).toBe("unlocked\n");
      await expect(without.sessions.start("enc")).rejects.toThrow(CredentialsError);
      await expect(without.sessions.start("enc")).rejects.toThrow(/encrypted.*SSH_MCP_KEY_PASSPHRASE/);
      await expect(wrong.sessions.start("enc")).rejects.toThrow(/could not be unlocked/);
    } finally {
      for (const r of [withPass, without, wrong]) await r.dispose();
    }
  });

  it("uses the ssh-agent at SSH_AUTH_SOCK when the host has no password or key", async () => {
    const agent = await startAgent(sshd.dir, sshd.keyPath);
    const r = testRuntime(sshd, { SSH_AUTH_SOCK: agent.socket });
    const none = testRuntime(sshd);
    try {
      await r.addHost("agent", { keyPath: undefined });
      const s = (await r.sessions.start("agent")).sessionId;
      expect((await r.sessions.exec(s, "echo via agent")).output).toBe("via agent\n");
      await none.addHost("agent", { keyPath: undefined });
      await expect(none.sessions.start("agent")).rejects.toThrow(/SSH_AUTH_SOCK is not set/);
    } finally {
      await r.dispose();
      await none.dispose();
      agent.stop();
    }
  });

  const user = createPasswordUser();
  it.skipIf(!user)("logs in with a password, and names the failure for a wrong one (needs root to create a user)", async () => {
    const r = testRuntime(sshd);
    try {
      await r.addHost("pw", { username: user!.username, password: user!.password, keyPath: undefined });
      await r.addHost("badpw", { username: user!.username, password: "not-the-password", keyPath: undefined });
      const s = (await r.sessions.start("pw")).sessionId;
      expect((await r.sessions.exec(s, "whoami")).output).toBe(`${user!.username}\n`);
      const error = await r.sessions.start("badpw").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as Error).message).toMatch(/Authentication failed for .*tried: password/);
      expect((error as Error).message).not.toContain("not-the-password");
    } finally {
      await r.dispose();
      user!.remove();
    }
  });

  it("fails at once with a clear error for a missing key file", async () => {
    const r = testRuntime(sshd);
    try {
      await r.addHost("k");
      await r.store.edit("k", { keyPath: sshd.keyPath }); // valid now
      execFileSync("cp", [sshd.keyPath, `${r.home}/gone_key`]);
      await r.store.edit("k", { keyPath: `${r.home}/gone_key` });
      execFileSync("rm", [`${r.home}/gone_key`]);
      await expect(r.sessions.start("k")).rejects.toThrow(/gone_key does not exist/);
    } finally {
      await r.dispose();
    }
  });
});

describe("connection failures", () => {
  it("errors at once on a closed port", async () => {
    const r = testRuntime(sshd);
    try {
      await r.addHost("closed", { port: await freePort() });
      const started = Date.now();
      const error = await r.sessions.start("closed").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(/Connection refused/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await r.dispose();
    }
  });

  it("fails the running call within seconds when the connection's sshd process dies, and a new session works", async () => {
    const own = (await rt.sessions.start("test")).sessionId;
    const pid = Number((await run("echo $PPID", undefined, own)).output.trim());
    const pending = run("sleep 304", 60_000, own).catch((e: unknown) => e);
    const started = Date.now();
    process.kill(pid, "SIGKILL"); // the per-connection sshd process serving this session
    const error = await pending;
    expect(error).toBeInstanceOf(SessionEndedError);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(rt.sessions.list().map((s) => s.sessionId)).not.toContain(own);
    const again = (await rt.sessions.start("test")).sessionId;
    expect((await run("echo back", undefined, again)).output).toBe("back\n");
    execFileSync("sh", ["-c", "pkill -f 'sleep 30[4]' || true"]);
  });
});

describe("dead peers and slow handshakes", () => {
  it("notices a silent peer through keepalives and fails the running call", async () => {
    const r = testRuntime(sshd, { SSH_MCP_KEEPALIVE_INTERVAL_MS: "300", SSH_MCP_KEEPALIVE_COUNT_MAX: "2" });
    try {
      await r.addHost();
      const s = (await r.sessions.start("test")).sessionId;
      const pid = Number((await r.sessions.exec(s, "echo $PPID")).output.trim());
      const pending = r.sessions.exec(s, "sleep 306", { timeoutMs: 60_000 }).catch((e: unknown) => e);
      process.kill(pid, "SIGSTOP"); // the connection stays up but nothing answers
      try {
        const started = Date.now();
        const error = await pending;
        expect(error).toBeInstanceOf(SessionEndedError);
        expect((error as Error).message).toMatch(/connection/);
        expect(Date.now() - started).toBeLessThan(15_000);
        expect(r.sessions.list()).toEqual([]);
      } finally {
        process.kill(pid, "SIGKILL");
        execFileSync("sh", ["-c", "pkill -f 'sleep 30[6]' || true"]);
      }
    } finally {
      await r.dispose();
    }
  });

  it("bounds a handshake that never comes with SSH_MCP_CONNECT_TIMEOUT_MS", async () => {
    const { createServer } = await import("node:net");
    const silent = createServer(() => undefined); // accepts TCP, never speaks SSH
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const r = testRuntime(sshd, { SSH_MCP_CONNECT_TIMEOUT_MS: "500" });
    try {
      await r.addHost("silent", { port: (silent.address() as { port: number }).port });
      const started = Date.now();
      await expect(r.sessions.start("silent")).rejects.toThrow(/Timed out connecting/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await r.dispose();
      silent.close();
    }
  });

  it("keeps the session when a `set -e` script runs in a subshell, and explains when one ends it", async () => {
    const own = (await rt.sessions.start("test")).sessionId;
    expect(await run("( set -e; echo one; false; echo never )", undefined, own)).toEqual({ exitCode: 1, output: "one\n" });
    await expect(run("set -e; false", undefined, own)).rejects.toThrow(/exited with status 1.*set -e/s);
  });

  it("ends the session when the shell exits even if a background job still holds its output", async () => {
    const own = (await rt.sessions.start("test")).sessionId;
    await run("sleep 307 &", undefined, own);
    const started = Date.now();
    await expect(run("exit 0", undefined, own)).rejects.toThrow(/exited with status 0/);
    expect(Date.now() - started).toBeLessThan(5000);
    execFileSync("sh", ["-c", "pkill -f 'sleep 30[7]' || true"]);
  });
});
