import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { spawn, type IPty } from "@lydell/node-pty";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SERVER_PATH, startServer } from "../support/mcp.js";

let home: string;
const hostsFile = () => join(home, ".ssh-mcp", "hosts.json");
const readHosts = () => readFileSync(hostsFile(), "utf8");

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "ssh-mcp-cli-"));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

/** Run `ssh-mcp ARGS` without a terminal; resolves with its output and exit code. */
async function run(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [SERVER_PATH, ...args], { env: { PATH: process.env.PATH!, HOME: home } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr }),
    );
    child.stdin!.end(input ?? "");
  });
}

/** `ssh-mcp ARGS` on a pseudo-terminal, as a person at a terminal runs it. */
class Terminal {
  private screen = "";
  private readonly pty: IPty;
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number>;

  constructor(args: string[]) {
    this.pty = spawn(process.execPath, [SERVER_PATH, ...args], { env: { PATH: process.env.PATH!, HOME: home, TERM: "dumb" }, cols: 200 });
    this.pty.onData((data) => {
      this.screen += data;
      for (const waiter of this.waiters) waiter();
    });
    this.exited = new Promise((resolve) => this.pty.onExit(({ exitCode }) => resolve(exitCode)));
  }

  /** Everything the terminal has shown so far. */
  get shown(): string {
    return this.screen;
  }

  /** Resolves once the terminal has shown `text` `times` times. */
  waitFor(text: string, times = 1): Promise<void> {
    const seen = () => this.screen.split(text).length - 1 >= times;
    if (seen()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!seen()) return;
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  type(text: string): void {
    this.pty.write(text);
  }
}

describe("ssh-mcp --help and --version", () => {
  it("prints the version of package.json and the usage, exit code 0", async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, "..", "..", "package.json"), "utf8")) as { version: string };
    expect(await run(["--version"])).toMatchObject({ code: 0, stdout: `${version}\n` });
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/ssh-mcp hosts add/);
  });

  it("answers an unknown option or a missing value with the usage on stderr and exit code 2, changing nothing", async () => {
    for (const args of [["--frobnicate"], ["hosts", "add", "web", "--host"], ["hosts", "add", "web", "--host", "h", "--username", "u", "--colour"], ["hosts", "add", "web", "--host", "h"]]) {
      const result = await run(args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(/^ssh-mcp: .+\n\nUsage:/);
    }
    expect(() => statSync(hostsFile())).toThrow();
  });
});

describe("ssh-mcp hosts with secrets", () => {
  it("prompts for the login and sudo passwords with echo off, asks each twice, and stores them 0600", async () => {
    const login = "login-Secret-4711";
    const sudo = "sudo-Secret-0815";
    const term = new Terminal(["hosts", "add", "web", "--host", "192.0.2.10", "--username", "deploy", "--ask-password", "--ask-sudo-password"]);
    await term.waitFor("Login password for deploy@192.0.2.10: ");
    term.type(`${login}\r`);
    await term.waitFor("Again: ");
    term.type(`${login}\r`);
    await term.waitFor("sudo password for deploy@192.0.2.10: ");
    term.type(`${sudo}\r`);
    await term.waitFor("Again: ", 2);
    term.type(`${sudo}\r`);
    expect(await term.exited).toBe(0);
    expect(term.shown).toMatch(/Added host 'web': deploy@192\.0\.2\.10:22, auth=password, sudo password set\./);
    // Echo was off: what was typed never appeared on the terminal.
    expect(term.shown).not.toContain(login);
    expect(term.shown).not.toContain(sudo);
    expect(JSON.parse(readHosts()).hosts[0]).toMatchObject({ host_id: "web", password: login, sudoPassword: sudo });
    expect(statSync(hostsFile()).mode & 0o777).toBe(0o600);
  });

  it("changes nothing when the two entries differ, or when Ctrl-C is pressed at the prompt", async () => {
    await run(["hosts", "add", "web", "--host", "192.0.2.10", "--username", "deploy"]);
    const before = readHosts();
    const differ = new Terminal(["hosts", "edit", "web", "--ask-sudo-password"]);
    await differ.waitFor("sudo password for deploy@192.0.2.10: ");
    differ.type("one\r");
    await differ.waitFor("Again: ");
    differ.type("two\r");
    expect(await differ.exited).toBe(1);
    expect(differ.shown).toMatch(/The two entries differ; nothing was changed/);

    const cancelled = new Terminal(["hosts", "edit", "web", "--ask-password"]);
    await cancelled.waitFor("Login password for deploy@192.0.2.10: ");
    cancelled.type("half-typed\u0003");
    expect(await cancelled.exited).toBe(130);
    expect(readHosts()).toBe(before);
  });

  it("takes secrets from a pipe, one line each, for scripts", async () => {
    await run(["hosts", "add", "web", "--host", "192.0.2.10", "--username", "deploy"]);
    const result = await run(["hosts", "edit", "web", "--ask-sudo-password"], "piped-sudo\n");
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/sudo password set/);
    expect(JSON.parse(readHosts()).hosts[0].sudoPassword).toBe("piped-sudo");
    expect((await run(["hosts", "edit", "web", "--clear-sudo-password"])).code).toBe(0);
    expect(JSON.parse(readHosts()).hosts[0].sudoPassword).toBeUndefined();
  });

  it.each([
    ["--password", "hunter2"],
    ["--password=hunter2"],
    ["--sudo-password", "hunter2"],
    ["--sudo-password=hunter2"],
  ])("refuses a password given as an argument (%s), saying why, exit code 2", async (...given) => {
    const result = await run(["hosts", "add", "web", "--host", "h", "--username", "u", ...given]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is refused: a password given as an argument stays in your shell's history and any user can read it with ps\. Use --ask-(sudo-)?password/);
    expect(result.stderr).not.toContain("hunter2");
    expect(() => statSync(hostsFile())).toThrow();
  });
});

describe("ssh-mcp hosts over the tools' hosts.json", () => {
  it("lists, edits and removes hosts with the tools' validation and messages", async () => {
    expect((await run(["hosts", "add", "web", "--host", "192.0.2.10", "--username", "deploy", "--port", "2222"])).stdout).toBe(
      "Added host 'web': deploy@192.0.2.10:2222, auth=agent.\n",
    );
    const dup = await run(["hosts", "add", "web", "--host", "192.0.2.11", "--username", "x"]);
    expect(dup).toMatchObject({ code: 1, stderr: "ssh-mcp: A host 'web' already exists. Choose another host_id, or change it with edit-host.\n" });
    const badPort = await run(["hosts", "edit", "web", "--port", "0"]);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toMatch(/--port: must be a whole number from 1 to 65535, not 0/);
    const badHost = await run(["hosts", "edit", "web", "--host", "*.example.com"]);
    expect(badHost.code).toBe(1);
    expect(badHost.stderr).toMatch(/Invalid host "\*\.example\.com"/);

    const server = await startServer({ home });
    try {
      expect((await run(["hosts", "list"])).stdout).toBe(`${await server.ok("list-hosts")}\n`);
    } finally {
      await server.close();
    }
    expect((await run(["hosts", "remove", "web"])).stdout).toBe("Removed host 'web'.\n");
    expect(JSON.parse(readHosts()).hosts).toEqual([]);
  });

  it("refuses to edit or remove an ssh config host, before asking for any secret", async () => {
    mkdirSync(join(home, ".ssh"), { mode: 0o700 });
    writeFileSync(join(home, ".ssh", "config"), "Host lab\n  HostName 192.0.2.20\n");
    const term = new Terminal(["hosts", "edit", "lab", "--ask-sudo-password"]);
    expect(await term.exited).toBe(1);
    expect(term.shown).toMatch(/Host 'lab' comes from .*config, which belongs to you: ssh-mcp never writes it/);
    expect(term.shown).not.toMatch(/password for/);
    expect((await run(["hosts", "remove", "lab"])).code).toBe(1);
    expect((await run(["hosts", "list"])).stdout).toMatch(/^lab\t.*@192\.0\.2\.20:22\t.*from ssh config/);
  });
});
