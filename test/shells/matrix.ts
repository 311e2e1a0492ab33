// The behaviour every supported login shell must show, through one kind of SSH server.
import { chmodSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandCancelledError, CommandTimeoutError } from "../../src/lib.js";
import { startDropbear, type TestDropbear } from "../support/servers.mjs";
import { testRuntime, type TestRuntime } from "../support/runtime.js";
import { createShellAccounts, LOGIN_SHELLS, type ShellAccount } from "../support/shell-accounts.js";
import { startSshd, type TestSshd } from "../support/sshd.js";

/** The state letter of process `pid` (R, S, Z...), or undefined once it is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0];
  } catch {
    return undefined;
  }
}

/** The NUL-separated command line of process `pid`, or "" once it is gone. */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1");
  } catch {
    return "";
  }
}

/** True while process `pid` exists and is not a zombie waiting to be reaped. */
export function alive(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== "Z";
}

/** Resolves once `check` holds, looking every few milliseconds (a process's end has no event here). */
export async function eventually(check: () => boolean, what: string, limitMs = 5000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`still waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function describeShellMatrix(server: "OpenSSH" | "Dropbear"): void {
  let sshd: TestSshd;
  let dropbear: TestDropbear | undefined;
  let rt: TestRuntime;
  let accounts: ReturnType<typeof createShellAccounts>;

  beforeAll(async () => {
    sshd = await startSshd(); // its client key is the one every account authorises
    // sshd reads AuthorizedKeysFile as the account: let the accounts reach the public keys.
    chmodSync(sshd.dir, 0o711);
    chmodSync(join(sshd.dir, "authorized_keys"), 0o644);
    dropbear = server === "Dropbear" ? await startDropbear() : undefined;
    accounts = createShellAccounts(LOGIN_SHELLS, readFileSync(sshd.keyPath + ".pub", "utf8"));
    const target = dropbear ?? sshd;
    rt = testRuntime({ host: target.host, port: target.port, user: sshd.user, keyPath: sshd.keyPath }, { SSH_MCP_EXEC_TIMEOUT_MS: "20000" });
    for (const account of accounts.accounts) await rt.addHost(account.shell, { username: account.name });
  });
  afterAll(async () => {
    await rt?.dispose();
    accounts?.removeAll();
    await dropbear?.cleanup();
    await sshd?.cleanup();
  });

  describe.each(LOGIN_SHELLS)(`${server}, login shell %s`, (shell) => {
    // Durations unique to this server and shell, so the two matrix files running side by side
    // never see each other's processes.
    const secs = (k: number) => (server === "OpenSSH" ? 4000 : 5000) + LOGIN_SHELLS.indexOf(shell) * 10 + k;
    let sessionId: string;
    let account: ShellAccount;
    const run = (command: string, timeoutMs?: number, signal?: AbortSignal) => rt.sessions.exec(sessionId, command, { timeoutMs, signal });
    /** A background job started in the session, and its pid. */
    /**
     * A background job started in the session, and its pid, once it has settled into its
     * sleep, as a job has when a person kills it later: a signal that lands while the shell is
     * still setting the child up may be lost (mksh ignores some then). ksh93's sleep is a
     * builtin, so there the job stays a shell, sleeping.
     */
    const settled = (pid: number, seconds: number) =>
      shell === "ksh93" ? processState(pid) === "S" : commandLine(pid).includes(`sleep\0${seconds}`);
    const startJobIn = async (exec: (command: string) => Promise<{ output: string }>, seconds: number) => {
      const pid = Number((await exec(`sleep ${seconds} & echo $!`)).output.trim());
      if (seconds > 0) await eventually(() => settled(pid, seconds), `job ${pid} to be sleeping`);
      return pid;
    };
    const startJob = (seconds: number) => startJobIn(run, seconds);

    beforeAll(async () => {
      account = accounts.accounts.find((a) => a.shell === shell)!;
      sessionId = (await rt.sessions.start(shell)).sessionId;
    });

    it("starts, and the first command's output is exact", async () => {
      expect(await run("printf abc")).toEqual({ exitCode: 0, output: "abc" });
      expect((await run("echo one; echo two >&2")).output).toBe("one\ntwo\n");
    });

    it("keeps the working directory, variables and functions", async () => {
      await run("cd /tmp && NAME=kept && export EXPORTED=yes && greet() { echo \"hi $1\"; }");
      expect((await run("pwd; echo $NAME $EXPORTED; greet you")).output).toBe("/tmp\nkept yes\nhi you\n");
    });

    it("reports a non-zero exit with its code, and a syntax error without ending the session", async () => {
      expect(await run("echo partial; (exit 3)")).toEqual({ exitCode: 3, output: "partial\n" });
      const syntax = await run("echo 'unterminated");
      expect(syntax.exitCode).not.toBe(0);
      expect(syntax.output).not.toBe("");
      expect((await run("printf still")).output).toBe("still");
    });

    it("stops the whole command on a timeout: its processes and the rest of its text, keeping state and earlier jobs", async () => {
      const earlier = await startJob(secs(1));
      await run("cd /usr && KEEP=yes && rm -f /tmp/smcp-step2-" + account.name);
      const started = Date.now();
      const error = await run(`sleep ${secs(2)} | cat\necho step2 > /tmp/smcp-step2-${account.name}`, 700).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CommandTimeoutError);
      expect((error as CommandTimeoutError).sessionKept).toBe(true);
      expect((error as CommandTimeoutError).output).toBe(""); // no "Terminated" from the shell
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(existsSync(`/tmp/smcp-step2-${account.name}`)).toBe(false);
      expect((await run("pwd; echo $KEEP")).output).toBe("/usr\nyes\n");
      expect(alive(earlier)).toBe(true);
      await run(`kill ${earlier}`);
    });

    it("stops a loop running in the shell itself, and a cancelled command, without more of their text", async () => {
      const loop = await run("while :; do :; done; echo after-loop", 500).catch((e: unknown) => e);
      expect(loop).toBeInstanceOf(CommandTimeoutError);
      expect((loop as CommandTimeoutError).output).toBe("");
      const cancel = new AbortController();
      const started = `/tmp/smcp-started-${account.name}`;
      // Plain `sleep`, which is a builtin in ksh93: the interrupt must reach that too.
      const cancelled = run(`: > ${started}; for i in 1 2 3 4 5; do sleep ${secs(3)}; echo "round $i"; done`, undefined, cancel.signal).catch(
        (e: unknown) => e,
      );
      await eventually(() => existsSync(started), "the cancelled command to start");
      cancel.abort();
      const error = await cancelled;
      expect(error).toBeInstanceOf(CommandCancelledError);
      expect((error as CommandCancelledError).output).toBe("");
      expect(listSleeps()).not.toContain(String(secs(3)));
      expect((await run(`rm ${started}; printf ok`)).output).toBe("ok");
    });

    it("shows no job notices after a background job ends or is killed", async () => {
      for (let round = 0; round < 3; round++) {
        const job = await startJob(secs(4));
        expect((await run(`kill ${job}`)).output).toBe("");
        await eventually(() => !alive(job), "the killed job to end");
        expect((await run("printf abc")).output).toBe("abc");
        const quick = await startJob(0);
        await eventually(() => !alive(quick), "the quick job to end");
        expect((await run("printf abc")).output).toBe("abc");
      }
    });

    // dash has job ids only with job control, which needs a terminal; zsh numbers jobs after the
    // function frames ssh-mcp runs the command in, so there %% names the job (the README says so).
    const jobRef = shell === "zsh" ? "%%" : "%1";
    if (shell !== "dash") it(`keeps job numbers straight: kill ${jobRef} reaches the right job, round after round`, async () => {
      const own = (await rt.sessions.start(shell)).sessionId;
      const runOwn = (command: string) => rt.sessions.exec(own, command);
      for (let round = 0; round < 3; round++) {
        // A job that ends while the session is idle must not keep its number (bash did).
        const quick = Number((await runOwn("sleep 0 & echo $!")).output.trim());
        await eventually(() => !alive(quick), "the quick job to end");
        const job = await startJobIn(runOwn, secs(6));
        expect(await runOwn(`kill ${jobRef}`)).toEqual({ exitCode: 0, output: "" });
        await eventually(() => !alive(job), `job ${job} to end after kill ${jobRef}`);
        expect((await runOwn("printf abc")).output).toBe("abc");
      }
      await rt.sessions.close(own);
    });

    it("hangs up the session's processes on close-session", async () => {
      const own = (await rt.sessions.start(shell)).sessionId;
      const job = await startJobIn((command) => rt.sessions.exec(own, command), secs(5));
      await rt.sessions.close(own);
      await eventually(() => !alive(job), "the background job to get the hangup");
    });
  });
}

/** The durations of every `sleep` running on this machine, as text. */
export function listSleeps(): string {
  const out: string[] = [];
  for (const pid of readdirPids()) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (cmdline[0]?.endsWith("sleep") && alive(pid)) out.push(cmdline[1] ?? "");
    } catch {
      // gone meanwhile
    }
  }
  return out.join(" ");
}

function readdirPids(): number[] {
  return readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number);
}
