import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVER_PATH, startServer, type TestServer } from "../support/mcp.js";
import { rawServer } from "../support/raw-server.js";
import { startSshd, type TestSshd } from "../support/sshd.js";

const REPO = join(import.meta.dirname, "..", "..");
let sshd: TestSshd;
let srv: TestServer;

beforeAll(async () => {
  sshd = await startSshd();
  srv = await startServer();
});
afterAll(async () => {
  await srv?.close();
  await sshd?.cleanup();
});

const hostArgs = (host_id: string, extra: Record<string, unknown> = {}) => ({
  host_id,
  host: sshd.host,
  port: sshd.port,
  username: sshd.user,
  keyPath: sshd.keyPath,
  ...extra,
});
const hostsFile = () => join(srv.home, ".ssh-mcp", "hosts.json");
const readHosts = () => readFileSync(hostsFile(), "utf8");

describe("tool list", () => {
  it("tells the client how the tools fit together", () => {
    expect(srv.client.getInstructions()).toMatch(/start-session.*exec.*persist/s);
  });

  it("offers exactly the fifteen tools, each with all four annotations set", async () => {
    const { tools } = await srv.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      [
        "add-host", "close-session", "download", "edit-file", "edit-host", "exec", "interrupt", "list-hosts", "list-sessions",
        "read-file", "read-output", "remove-host", "start-session", "upload", "write-file",
      ],
    );
    for (const tool of tools) {
      for (const hint of ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"] as const) {
        expect(typeof tool.annotations?.[hint], `${tool.name}.${hint}`).toBe("boolean");
      }
    }
  });
});

describe("add-host and list-hosts", () => {
  it("adds a host and lists it as id, user@host:port and auth, never a password", async () => {
    expect(await srv.ok("add-host", hostArgs("web"))).toMatch(/Added host 'web'/);
    await srv.ok("add-host", { host_id: "db", host: "db.internal", username: "admin", password: "s3cret-pw" });
    const listed = await srv.call("list-hosts");
    expect(listed.text).toContain(`web\t${sshd.user}@127.0.0.1:${sshd.port}\tauth=key`);
    expect(listed.text).toContain("db\tadmin@db.internal:22\tauth=password");
    expect(listed.text + JSON.stringify(listed.structured)).not.toContain("s3cret-pw");
    expect(listed.structured).toMatchObject({ hosts: [{ host_id: "web", auth: "key" }, { host_id: "db", port: 22, auth: "password" }] });
  });

  it("refuses bad input with a clear error and leaves hosts.json unchanged", async () => {
    const before = readHosts();
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [hostArgs("web"), /already exists/],
      [hostArgs(""), /host_id/],
      [hostArgs("p0", { port: 0 }), /port/i],
      [hostArgs("pneg", { port: -22 }), /port/i],
      [hostArgs("pbig", { port: 65536 }), /port/i],
      [hostArgs("pfrac", { port: 22.5 }), /port/i],
      [{ host_id: "nouser", host: "x" }, /username/],
      [{ host_id: "nohost", username: "x" }, /host/],
      [hostArgs("nokey", { keyPath: "/nonexistent/key" }), /keyPath/],
    ];
    for (const [args, message] of cases) {
      const r = await srv.call("add-host", args);
      expect(r.isError, JSON.stringify(args)).toBe(true);
      expect(r.text, JSON.stringify(args)).toMatch(message);
    }
    expect(readHosts()).toBe(before);
  });
});

describe("edit-host and remove-host", () => {
  it("changes only the given fields", async () => {
    await srv.ok("add-host", hostArgs("edit-me"));
    await srv.ok("edit-host", { host_id: "edit-me", username: "other" });
    const host = JSON.parse(readHosts()).hosts.find((h: { host_id: string }) => h.host_id === "edit-me");
    expect(host).toMatchObject({ host: "127.0.0.1", port: sshd.port, username: "other", keyPath: sshd.keyPath });
  });

  it("saves a proxyJump and shows it in list-hosts", async () => {
    await srv.ok("add-host", hostArgs("behind-web", { proxyJump: "web" }));
    const listed = await srv.call("list-hosts");
    expect(listed.text).toMatch(/^behind-web\t.*\tauth=key\tproxyJump=web$/m);
    expect((listed.structured as { hosts: Array<Record<string, unknown>> }).hosts).toContainEqual(
      expect.objectContaining({ host_id: "behind-web", proxyJump: "web" }),
    );
    await srv.ok("remove-host", { host_id: "behind-web" });
  });

  it("refuses an unknown host and bad values, leaving the file unchanged", async () => {
    const before = readHosts();
    const unknown = await srv.call("edit-host", { host_id: "nope", port: 2222 });
    expect(unknown).toMatchObject({ isError: true });
    expect(unknown.text).toMatch(/No host 'nope'.*Known hosts: .*web.*add-host/s);
    expect((await srv.call("edit-host", { host_id: "edit-me", port: 99999 })).isError).toBe(true);
    expect(readHosts()).toBe(before);
  });

  it("removes a host, while a session open on it stays usable until closed", async () => {
    await srv.ok("add-host", hostArgs("temp"));
    const id = await srv.ok("start-session", { host_id: "temp" });
    expect(await srv.ok("remove-host", { host_id: "temp" })).toMatch(/Removed host 'temp'/);
    expect((await srv.call("list-hosts")).text).not.toMatch(/^temp\t/m);
    expect(await srv.ok("exec", { session_id: id, command: "echo still open" })).toBe("still open\n");
    expect((await srv.call("remove-host", { host_id: "temp" })).text).toMatch(/No host 'temp'/);
    await srv.ok("close-session", { sessionId: id });
  });
});

describe("sessions and exec", () => {
  it("starts a session with a UUID, keeps state between execs, lists and closes it", async () => {
    const start = await srv.call("start-session", { host_id: "web" });
    expect(start.isError).toBe(false);
    const id = start.text;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(start.structured).toEqual({ sessionId: id, hostId: "web", target: `${sshd.user}@127.0.0.1:${sshd.port}` });

    expect(await srv.ok("exec", { session_id: id, command: "cd /tmp; export V=1" })).toBe("");
    expect(await srv.ok("exec", { session_id: id, command: "printf '%s:%s' \"$PWD\" \"$V\"" })).toBe("/tmp:1");

    const listed = await srv.call("list-sessions");
    expect(listed.text).toMatch(new RegExp(`^${id}\\tweb\\t${sshd.user}@127\\.0\\.0\\.1:${sshd.port}\\tstarted \\S+\\tlast used \\S+$`, "m"));
    expect((listed.structured as { sessions: unknown[] }).sessions).toContainEqual(
      expect.objectContaining({ sessionId: id, hostId: "web" }),
    );

    expect(await srv.ok("close-session", { sessionId: id })).toMatch(/Closed/);
    expect((await srv.call("list-sessions")).text).not.toContain(id);
    const after = await srv.call("exec", { session_id: id, command: "true" });
    expect(after.isError).toBe(true);
    expect(after.text).toMatch(/start-session/);
  });

  it("uses a given sessionId and refuses a duplicate", async () => {
    expect(await srv.ok("start-session", { host_id: "web", sessionId: "mine" })).toBe("mine");
    const dup = await srv.call("start-session", { host_id: "web", sessionId: "mine" });
    expect(dup.isError).toBe(true);
    expect(dup.text).toMatch(/already open/);
    await srv.ok("close-session", { sessionId: "mine" });
  });

  it("returns a non-zero exit as a tool error with the code and all output, stderr included", async () => {
    const id = await srv.ok("start-session", { host_id: "web" });
    const r = await srv.call("exec", { session_id: id, command: "echo to-out; echo to-err >&2; exit_with() { return $1; }; exit_with 4" });
    expect(r.isError).toBe(true);
    expect(r.text).toBe("Command failed with exit code 4. Output:\nto-out\nto-err\n");
    expect(await srv.ok("exec", { session_id: id, command: "echo alive" })).toBe("alive\n");
    await srv.ok("close-session", { sessionId: id });
  });

  it("refuses empty and blank commands", async () => {
    const id = await srv.ok("start-session", { host_id: "web" });
    for (const command of ["", "   ", "\n"]) {
      const r = await srv.call("exec", { session_id: id, command });
      expect(r.isError).toBe(true);
      expect(r.text).toMatch(/empty/);
    }
    await srv.ok("close-session", { sessionId: id });
  });

  it("names the unknown host or session and says what to do", async () => {
    expect((await srv.call("start-session", { host_id: "ghost" })).text).toMatch(/No host 'ghost'.*add-host/s);
    expect((await srv.call("exec", { session_id: "ghost", command: "true" })).text).toMatch(/No session 'ghost'.*start-session/s);
    expect((await srv.call("close-session", { sessionId: "ghost" })).text).toMatch(/No session 'ghost'/);
  });

  it("reports an unreachable host as a tool error, and the server stays up", async () => {
    await srv.ok("add-host", { host_id: "closed", host: "127.0.0.1", port: 1, username: "x", keyPath: sshd.keyPath });
    const r = await srv.call("start-session", { host_id: "closed" });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/Connection refused by 127\.0\.0\.1:1/);
    expect((await srv.call("list-hosts")).isError).toBe(false);
  });
});

describe("shutdown", () => {

  async function openSession(home: string) {
    const raw = rawServer(home);
    await raw.request("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "0" } });
    raw.child.stdin.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
    await raw.request("tools/call", { name: "add-host", arguments: hostArgs("s") });
    const started = await raw.request("tools/call", { name: "start-session", arguments: { host_id: "s" } });
    expect(started.result.isError).toBeFalsy();
    return raw;
  }

  const sshdChildren = () =>
    promisify(execFile)("pgrep", ["-P", String(sshd.pid())]).then(
      (r) => r.stdout.trim().split("\n").filter(Boolean).length,
      () => 0,
    );

  it("exits and closes every SSH connection when the client closes stdin", async () => {
    const raw = await openSession(mkdtempSync(join(tmpdir(), "ssh-mcp-home-")));
    const before = await sshdChildren();
    expect(before).toBeGreaterThan(0);
    const t0 = Date.now();
    raw.child.stdin.end();
    expect(await raw.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    // sshd's per-connection process leaves once the client is gone.
    for (let i = 0; i < 50 && (await sshdChildren()) >= before; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await sshdChildren()).toBeLessThan(before);
  });

  it.each(["SIGTERM", "SIGINT"] as const)("exits cleanly on %s", async (signal) => {
    const raw = await openSession(mkdtempSync(join(tmpdir(), "ssh-mcp-home-")));
    raw.child.kill(signal);
    expect(await raw.exited).toBe(0);
  });

  it("refuses to start with a bad setting, naming the variable", async () => {
    const r = await promisify(execFile)(process.execPath, [SERVER_PATH], {
      env: { PATH: process.env.PATH!, HOME: srv.home, SSH_MCP_EXEC_TIMEOUT_MS: "soon" },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(1);
    expect((r as { stderr: string }).stderr).toMatch(/SSH_MCP_EXEC_TIMEOUT_MS='soon' is not valid/);
  });
});

describe("library entry (import from 'ssh-mcp')", () => {
  it("exports the library without starting a server, and execSshCommand exits by itself", async () => {
    const home = mkdtempSync(join(tmpdir(), "ssh-mcp-home-"));
    const script = join(REPO, "test", ".lib-check.mjs");
    writeFileSync(
      script,
      `import { execSshCommand, HostStore, SessionManager, CommandFailedError } from "ssh-mcp";
       import { join } from "node:path"; import { homedir } from "node:os";
       const store = new HostStore({ dir: join(homedir(), ".ssh-mcp") });
       await store.add(${JSON.stringify(hostArgs("lib"))});
       console.log(JSON.stringify(await execSshCommand("lib", "echo from-lib; pwd")));
       try { await execSshCommand("lib", "echo failing; (exit 3)"); } catch (e) {
         console.log(e instanceof CommandFailedError, e.exitCode, JSON.stringify(e.output)); }
       console.log(typeof SessionManager);`,
    );
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [script], { env: { PATH: process.env.PATH!, HOME: home }, timeout: 20_000 });
      expect(stdout).toBe(`"from-lib\\n${userInfo().homedir}\\n"\ntrue 3 "failing\\n"\nfunction\n`);
    } finally {
      (await import("node:fs")).rmSync(script, { force: true });
    }
  });
});
