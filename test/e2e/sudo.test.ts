import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVER_PATH, startServer, type TestServer, type ToolCall } from "../support/mcp.js";
import { createPasswordUser, startSshd, type TestSshd } from "../support/sshd.js";

type User = NonNullable<ReturnType<typeof createPasswordUser>>;

let sshd: TestSshd;
let server: TestServer;
let sudoers: string;
/** Every tool result of this file, to search for passwords at the end. */
const results: ToolCall[] = [];
const users: Record<"asks" | "nopasswd" | "wrong" | "nostored" | "nosudo", User> = {} as never;
/** The sudo passwords in play (each account's login password): none may ever show. */
const secrets = () => Object.values(users).map((u) => u.password);

async function call(name: string, args: Record<string, unknown>): Promise<ToolCall> {
  const result = await server.call(name, args);
  results.push(result);
  return result;
}

async function session(hostId: string): Promise<string> {
  const result = await call("start-session", { host_id: hostId });
  if (result.isError) throw new Error(result.text);
  return result.text;
}

/** `ssh-mcp hosts edit ID --ask-sudo-password`, the password piped in as a script would. */
function storeSudoPassword(hostId: string, password: string): void {
  execFileSync(process.execPath, [SERVER_PATH, "hosts", "edit", hostId, "--ask-sudo-password"], {
    input: `${password}\n`,
    env: { PATH: process.env.PATH!, HOME: server.home },
    stdio: ["pipe", "ignore", "inherit"],
  });
}

beforeAll(async () => {
  sshd = await startSshd();
  for (const role of ["asks", "nopasswd", "wrong", "nostored", "nosudo"] as const) users[role] = createPasswordUser()!;
  sudoers = `/etc/sudoers.d/ssh-mcp-test-${randomBytes(4).toString("hex")}`;
  writeFileSync(
    sudoers,
    [
      `${users.asks.username} ALL=(ALL) ALL`,
      `${users.wrong.username} ALL=(ALL) ALL`,
      `${users.nostored.username} ALL=(ALL) ALL`,
      `${users.nopasswd.username} ALL=(ALL) NOPASSWD: ALL`,
      "",
    ].join("\n"),
    { mode: 0o440 },
  );
  // The command runs in the account's login shell: zsh here, to show it is not /bin/sh.
  execFileSync("usermod", ["-s", "/usr/bin/zsh", users.asks.username]);
  // This account's login shell finds no sudo: its PATH has nothing in it.
  writeFileSync(join("/home", users.nosudo.username, ".profile"), "PATH=/nonexistent; export PATH\n");
  server = await startServer();
  for (const [role, user] of Object.entries(users)) {
    await server.ok("add-host", { host_id: role, host: sshd.host, port: sshd.port, username: user.username, password: user.password });
  }
  storeSudoPassword("asks", users.asks.password);
  storeSudoPassword("nopasswd", users.nopasswd.password);
  storeSudoPassword("wrong", `not-${users.wrong.password}`);
});
afterAll(async () => {
  if (sudoers) rmSync(sudoers, { force: true });
  await server?.close();
  for (const user of Object.values(users)) user?.remove();
  await sshd?.cleanup();
});

describe("exec with sudo", () => {
  it("runs the command as root in the session's directory, with the stored password, and nothing it changes persists", async () => {
    const id = await session("asks");
    await call("exec", { session_id: id, command: "cd /tmp && export KEEP=session" });
    const result = await call("exec", { session_id: id, command: "id -u; pwd; echo ${ZSH_VERSION:+zsh}; cd /; export KEEP=changed", sudo: true });
    expect(result).toMatchObject({ isError: false, text: "0\n/tmp\nzsh\n" });
    expect((await call("exec", { session_id: id, command: "pwd; echo $KEEP" })).text).toBe("/tmp\nsession\n");
    const asUser = await call("exec", { session_id: id, command: "id -un", sudo: true, sudo_user: users.nopasswd.username });
    expect(asUser.text).toBe(`${users.nopasswd.username}\n`);
  });

  it("uses sudo's cached credentials: after one sudo with the password, the next needs none", async () => {
    const id = await session("asks");
    expect((await call("exec", { session_id: id, command: "id -u", sudo: true })).text).toBe("0\n");
    await server.ok("edit-host", { host_id: "asks", sudoPassword: "" });
    try {
      expect((await call("exec", { session_id: id, command: "id -u", sudo: true })).text).toBe("0\n");
    } finally {
      storeSudoPassword("asks", users.asks.password);
    }
  });

  it("keeps the command's exit status and output, and its quotes and expansions intact", async () => {
    const id = await session("asks");
    expect((await call("exec", { session_id: id, command: `echo "it's $(id -u)" '$HOME'; printf '%s\\n' "a  b"`, sudo: true })).text).toBe(
      "it's 0 $HOME\na  b\n",
    );
    const failed = await call("exec", { session_id: id, command: "echo out; echo err >&2; exit 3", sudo: true });
    expect(failed.isError).toBe(true);
    expect(failed.text).toBe("Command failed with exit code 3. Output:\nout\nerr\n");
  });

  it("stops a sudo command that runs past its timeout, through sudo, and the session carries on", async () => {
    const id = await session("asks");
    const timeoutMs = 1_000;
    const started = Date.now();
    const nap = 1000 + Math.floor(Math.random() * 9000); // a duration no other run uses, to find exactly this sleep
    const result = await call("exec", { session_id: id, command: `echo begun; sleep ${nap}`, sudo: true, timeout_ms: timeoutMs });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/^Command timed out after 1000 ms\. It was interrupted; the session is still open/);
    expect(result.text).toContain("begun");
    expect(Date.now() - started).toBeLessThan(60_000);
    expect((await call("exec", { session_id: id, command: "echo alive" })).text).toBe("alive\n");
    const { stdout } = await promisify(execFile)("ps", ["-eo", "user=,args="]);
    expect(stdout.split("\n").filter((l) => new RegExp(`^root\\s+sleep ${nap}$`).test(l))).toEqual([]);
  });

  it("works with a NOPASSWD rule whether a password is stored or not", async () => {
    expect((await call("exec", { session_id: await session("nopasswd"), command: "id -u", sudo: true })).text).toBe("0\n");
    const none = await startServer({ home: mkdtempSync(join(tmpdir(), "ssh-mcp-home-")) });
    try {
      const u = users.nopasswd;
      await none.ok("add-host", { host_id: "n", host: sshd.host, port: sshd.port, username: u.username, password: u.password });
      const id = await none.ok("start-session", { host_id: "n" });
      expect(await none.ok("exec", { session_id: id, command: "id -u", sudo: true })).toBe("0\n");
    } finally {
      // Close first: the server writes its audit log after a result has gone out.
      await none.close();
      rmSync(none.home, { recursive: true, force: true });
    }
  });

  it("fails fast on a wrong password, saying so, and the session carries on", async () => {
    const id = await session("wrong");
    const timeoutMs = 60_000;
    const started = Date.now();
    const result = await call("exec", { session_id: id, command: "id -u", sudo: true, timeout_ms: timeoutMs });
    // PAM delays a failure by about two seconds; waiting for more input would take the whole timeout.
    expect(Date.now() - started).toBeLessThan(timeoutMs / 4);
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/^sudo on .* \(host 'wrong'\) refused the stored sudo password; the command did not run and the session is still open\. .*ssh-mcp hosts edit wrong --ask-sudo-password/);
    expect((await call("exec", { session_id: id, command: "echo alive" })).text).toBe("alive\n");
  });

  it("without a stored password, fails at once where sudo asks for one, saying how to store it", async () => {
    const id = await session("nostored");
    const result = await call("exec", { session_id: id, command: "touch /root/should-not-exist", sudo: true });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/asks for a password, and none is stored for host 'nostored'; the command did not run\. .*ssh-mcp hosts edit nostored --ask-sudo-password/);
    expect(existsSync("/root/should-not-exist")).toBe(false);
  });

  it("says so when the host has no sudo", async () => {
    const result = await call("exec", { session_id: await session("nosudo"), command: "id -u", sudo: true });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/^sudo is not installed on .*\(host 'nosudo'\)/);
  });

  it("refuses sudo_user without sudo, and a sudo_user that is not a user name", async () => {
    const id = await session("asks");
    expect((await call("exec", { session_id: id, command: "id", sudo_user: "root" })).text).toMatch(/sudo_user 'root' was given without sudo: true/);
    expect((await call("exec", { session_id: id, command: "id", sudo: true, sudo_user: "root; rm -rf /" })).text).toMatch(/Invalid sudo_user/);
    expect((await call("exec", { session_id: id, command: "id", sudo: true, sudo_user: "x".repeat(33) })).isError).toBe(true);
  });

  it("never shows the password in the remote process list while the command runs, nor leaves a file behind", async () => {
    const id = await session("asks");
    const dir = mkdtempSync(join(tmpdir(), "ssh-mcp-sudo-ctl-"));
    chmodSync(dir, 0o755);
    const gate = join(dir, "gate");
    execFileSync("mkfifo", ["-m", "666", gate]);
    const running = call("exec", { session_id: id, command: `cat ${gate}; echo released`, sudo: true });
    // The command is running once root's cat has the gate open; no event says so, so look until it does.
    const catOnGate = async () => (await promisify(execFile)("ps", ["-eo", "user=,args="])).stdout.split("\n").some((l) => /^root\s+cat \S*gate$/.test(l));
    while (!(await catOnGate())) await new Promise((r) => setTimeout(r, 20));
    const { stdout: ps } = await promisify(execFile)("ps", ["-eo", "pid=,args="]);
    const environs = readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .map((p) => {
        try {
          return readFileSync(`/proc/${p}/environ`, "latin1");
        } catch {
          return "";
        }
      })
      .join("\n");
    writeFileSync(gate, "go\n");
    expect((await running).text).toBe("go\nreleased\n");
    rmSync(dir, { recursive: true, force: true });
    for (const secret of secrets()) {
      expect(ps).not.toContain(secret);
      expect(environs).not.toContain(secret);
    }
    // The FIFO's private directory (mktemp -d) is gone, and no FIFO of the account's is left in /tmp.
    // (Not every file of its uid: another run's throwaway account may have had the same uid.)
    const left = ["/tmp", "-xdev", "-user", users.asks.username, "(", "-name", "tmp.*", "-o", "-type", "p", ")"];
    expect(execFileSync("find", left, { encoding: "utf8" })).toBe("");
    const home = join("/home", users.asks.username);
    for (const history of [".sh_history", ".bash_history", ".history"]) {
      if (existsSync(join(home, history))) expect(readFileSync(join(home, history), "utf8")).not.toContain(users.asks.password);
    }
  });

  it("never shows a password in any result, structured content or the server's stderr", async () => {
    const listed = await call("list-hosts", {});
    expect(listed.text).toMatch(/^asks\t.*\tsudo password set$/m);
    const flags = (listed.structured as { hosts: Array<{ host_id: string; sudoPasswordSet: boolean }> }).hosts.map((h) => [h.host_id, h.sudoPasswordSet]);
    expect(flags).toEqual(expect.arrayContaining([["asks", true], ["nostored", false]]));
    const everything = JSON.stringify(results) + server.stderr();
    for (const secret of secrets()) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(`not-${secret}`);
    }
  });
});

describe("sudo with hand-back and the secret page", () => {
  it("hands back a long sudo command; read-output gives the rest, and no output of sudo's own", async () => {
    const id = await session("asks");
    const first = await call("exec", { session_id: id, command: "for i in 1 2 3 4; do echo root-$i; sleep 0.5; done; id -u", sudo: true, yield_ms: 700 });
    expect(first.structured).toMatchObject({ status: "running" });
    expect(String(first.structured!.output)).toMatch(/^root-1\n/);
    const outputs = [String(first.structured!.output)];
    for (;;) {
      const r = await call("read-output", { session_id: id, wait_ms: 2000 });
      outputs.push(r.structured?.status === "running" ? String(r.structured.output) : r.text);
      if (r.structured?.status !== "running") {
        expect(r.structured).toMatchObject({ status: "exited", exitCode: 0 });
        break;
      }
    }
    expect(outputs.join("")).toBe("root-1\nroot-2\nroot-3\nroot-4\n0\n");
  });

  it("asks the person for a sudo password nobody stored, on the one-time page, runs the command, and remembers it when asked", async () => {
    const { ElicitRequestSchema } = await import("@modelcontextprotocol/sdk/types.js");
    let pages = 0;
    const asking = await startServer({
      home: server.home,
      capabilities: { elicitation: { url: {} } },
      setup: (client) =>
        client.setRequestHandler(ElicitRequestSchema, async (request) => {
          if (request.params.mode !== "url") return { action: "decline" };
          pages++;
          const url = request.params.url;
          const html = await (await fetch(url)).text();
          const token = /name="token" value="([^"]+)"/.exec(html)![1]!;
          const body = new URLSearchParams({ token, secret: users.nostored.password, remember: "on" });
          setImmediate(() => void fetch(url, { method: "POST", body, headers: { Origin: new URL(url).origin } }));
          return { action: "accept" };
        }),
    });
    try {
      const id = await asking.ok("start-session", { host_id: "nostored" });
      const r = await asking.call("exec", { session_id: id, command: "id -u", sudo: true });
      results.push(r);
      expect(r).toMatchObject({ isError: false, text: "0\n" });
      expect(pages).toBe(1);
      expect((await asking.call("list-hosts")).text).toMatch(/nostored\t.*sudo password set/);
      // Stored now: the next sudo asks nothing.
      expect(await asking.ok("exec", { session_id: id, command: "id -u", sudo: true })).toBe("0\n");
      expect(pages).toBe(1);
      expect(asking.stderr()).not.toContain(users.nostored.password);
    } finally {
      await asking.close();
    }
  });
});
