// Login scripts people really have: functions and aliases named like builtins, traps, tracing,
// strict options, a question read from stdin. None of it may change what ssh-mcp's own lines
// do; what the user's own command does under those settings is theirs to see.
import { chmodSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandTimeoutError, ShellStartError } from "../../src/lib.js";
import { testRuntime, type TestRuntime } from "../support/runtime.js";
import { createShellAccounts, type LoginShell } from "../support/shell-accounts.js";
import { startSshd, type TestSshd } from "../support/sshd.js";
import { alive, eventually } from "./matrix.js";

/**
 * Definitions that shadow the names our lines use, in POSIX syntax (dash and busybox refuse a
 * function named like a special builtin, so `eval` is shadowed only where the shell allows it).
 */
const SHADOW_POSIX = `
echo() { command printf '[log] %s\\n' "$*"; }
jobs() { command printf '[jobs]\\n'; }
kill() { command printf '[kill]\\n'; }
test() { command printf '[test]\\n'; }
trap 'command printf "[exit-trap]"' EXIT
alias printf='printf "[alias]"'
alias command='printf "[alias-command]"'
alias unset='printf "[alias-unset]"'
alias jobs='printf "[alias-jobs]"'
alias local='printf "[alias-local]"'
`;

const SHADOW_EVAL = "eval() { command printf '[eval]\\n'; }\n";

const ACCOUNTS: Array<{ id: string; shell: LoginShell; files: Record<string, string> }> = [
  {
    id: "bash-shadows",
    shell: "bash",
    files: { ".bash_profile": `shopt -s expand_aliases\n${SHADOW_POSIX}${SHADOW_EVAL}\ntrap 'builtin printf "ERR-TRAP\\n"' ERR\nPROMPT_COMMAND='echo prompt'\n` },
  },
  { id: "bash-xtrace", shell: "bash", files: { ".bash_profile": "set -x\nset -o pipefail\n" } },
  { id: "bash-strict", shell: "bash", files: { ".bash_profile": "set -u\nset -o noclobber\nset -f\nIFS=0123456789\n" } },
  {
    id: "zsh-shadows",
    shell: "zsh",
    files: {
      ".zshenv": `${SHADOW_POSIX}${SHADOW_EVAL}\nbuiltin() { print -r -- "[builtin]"; }\nunfunction builtin\nalias -g printf='printf "[galias]"'\nalias -g jobs='jobs [galias]'\nalias -g eval='eval [galias]'\nsetopt no_unset ksh_arrays\n`,
      ".zprofile": "TRAPZERR() { print -r -- ZERR-TRAP; }\n",
    },
  },
  { id: "dash-shadows", shell: "dash", files: { ".profile": `${SHADOW_POSIX}\nset -u\n` } },
  { id: "ksh93-shadows", shell: "ksh93", files: { ".profile": `${SHADOW_POSIX}${SHADOW_EVAL}\nset -u\n` } },
  { id: "mksh-shadows", shell: "mksh", files: { ".profile": `${SHADOW_POSIX}${SHADOW_EVAL}\nset -u\n` } },
  { id: "ash-shadows", shell: "ash", files: { ".profile": `${SHADOW_POSIX}\nset -u\n` } },
  { id: "dash-asks", shell: "dash", files: { ".profile": "printf 'Continue? ' ; read answer\n" } },
  { id: "dash-reads-all", shell: "dash", files: { ".profile": "cat >/dev/null\n" } },
];

let sshd: TestSshd;
let rt: TestRuntime;
let accounts: ReturnType<typeof createShellAccounts>;

beforeAll(async () => {
  sshd = await startSshd();
  chmodSync(sshd.dir, 0o711); // sshd reads AuthorizedKeysFile as the account
  chmodSync(join(sshd.dir, "authorized_keys"), 0o644);
  accounts = createShellAccounts(
    ACCOUNTS.map((a) => a.shell),
    readFileSync(sshd.keyPath + ".pub", "utf8"),
  );
  // A short start limit, for the account whose login script never finishes.
  rt = testRuntime(sshd, { SSH_MCP_EXEC_TIMEOUT_MS: "20000", SSH_MCP_CONNECT_TIMEOUT_MS: "4000" });
  for (const [i, spec] of ACCOUNTS.entries()) {
    const account = accounts.accounts[i]!;
    for (const [file, text] of Object.entries(spec.files)) account.writeHomeFile(file, text);
    await rt.addHost(spec.id, { username: account.name });
  }
});
afterAll(async () => {
  await rt?.dispose();
  accounts?.removeAll();
  await sshd?.cleanup();
});

async function session(hostId: string) {
  const { sessionId } = await rt.sessions.start(hostId);
  return (command: string, timeoutMs?: number) => rt.sessions.exec(sessionId, command, { timeoutMs });
}

describe.each(ACCOUNTS.filter((a) => a.id.endsWith("-shadows")).map((a) => a.id))("login scripts that shadow our names (%s)", (hostId) => {
  it("leaves the first command and every later one exact, with the user's own definitions applying to the user's command", async () => {
    const run = await session(hostId);
    expect(await run("true")).toEqual({ exitCode: 0, output: "" });
    expect((await run("command -v cd >/dev/null; builtin_free=1")).exitCode).toBe(0);
    // The user's printf alias and echo function are theirs: they apply to their own command.
    expect((await run("echo hi")).output).toBe("[log] hi\n");
    expect((await run("\\printf abc")).output).toBe("abc");
    expect((await run("cd /tmp; \\printf '%s' \"$PWD\"")).output).toBe("/tmp");
  });

  it("interrupts a command and spares the jobs that existed before it", async () => {
    const run = await session(hostId);
    // Each account writes it as itself; a leftover of an earlier failure must not fail every run after.
    rmSync("/tmp/smcp-rc-step2", { force: true });
    const job = Number((await run("sleep 3101 & \\printf '%s' $!")).output);
    await eventually(() => alive(job), "the background job to run");
    const error = await run("sleep 3102; \\printf step2 > /tmp/smcp-rc-step2", 600).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect((error as CommandTimeoutError).sessionKept).toBe(true);
    expect(existsSync("/tmp/smcp-rc-step2")).toBe(false);
    expect(alive(job)).toBe(true);
    expect((await run("\\printf ok")).output).toBe("ok");
    await run(`\\command kill ${job}`);
  });
});

describe("traps, tracing and strict options", () => {
  it("fires the user's ERR trap once for a failing command, as at a prompt (bash)", async () => {
    const run = await session("bash-shadows");
    expect(await run("false")).toEqual({ exitCode: 1, output: "ERR-TRAP\n" });
    expect(await run("true")).toEqual({ exitCode: 0, output: "" });
  });

  it("traces only the user's own command under set -x, never our lines (bash)", async () => {
    const run = await session("bash-xtrace");
    const r = await run("printf abc");
    // bash marks commands run by eval with one more level of PS4 ("++"); nothing of ours shows.
    expect(r.output).toMatch(/^\++ printf abc\nabc$/);
    expect((await run("set +x; printf abc")).output).toMatch(/^\++ set \+x\nabc$/);
  });

  it("keeps working under set -u, noclobber, noglob and an IFS of digits, which our lines never trip (bash)", async () => {
    const run = await session("bash-strict");
    expect((await run("printf abc")).output).toBe("abc");
    expect(await run("(exit 130)")).toEqual({ exitCode: 130, output: "" });
    const error = await run("sleep 3103", 500).catch((e: unknown) => e);
    expect((error as CommandTimeoutError).sessionKept).toBe(true);
    expect((await run("printf '%s' \"${UNSET_BUT_DEFAULTED:-fine}\"")).output).toBe("fine");
  });
});

describe("login scripts that read standard input", () => {
  it("gives a script that asks a question an empty answer, and the session works", async () => {
    const run = await session("dash-asks");
    expect(await run("printf abc")).toEqual({ exitCode: 0, output: "abc" });
  });

  it("fails start-session, pointing at the login scripts, when one reads all of its input", async () => {
    const error = await rt.sessions.start("dash-reads-all").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShellStartError);
    expect((error as Error).message).toMatch(/login scripts \(~\/\.profile.*reads from standard input/);
  });
});
