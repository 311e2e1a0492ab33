// Trust, secrets and the files behind them, through the built server over stdio against a real OpenSSH sshd.
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SERVER_PATH, startServer, type TestServer, type ToolCall } from "../support/mcp.js";
import { createPasswordUser, fingerprintOf, keygen, startSshd, type TestSshd, keyHostArgs, publicKeyOf } from "../support/sshd.js";

const IS_ROOT = process.getuid?.() === 0;

const servers: TestServer[] = [];
const homes: string[] = [];

/** A server on a fresh HOME (or the given one); closed after each test. */
async function serve(options: { env?: Record<string, string>; home?: string } = {}): Promise<TestServer> {
  const server = await startServer(options);
  servers.push(server);
  return server;
}

/** A temp HOME removed after the test. */
function tempHome(): string {
  const home = mkdtempSync(join(tmpdir(), "ssh-mcp-e2e-home-"));
  homes.push(home);
  return home;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** Resolve once `predicate` holds; for output that arrives on a pipe with no event of its own to await. */
async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

let sshd: TestSshd;

beforeAll(async () => {
  sshd = await startSshd();
});

afterAll(async () => {
  await sshd?.cleanup();
});

const keyHost = (hostId: string, target: TestSshd = sshd) => keyHostArgs(target, hostId);

async function startSession(server: TestServer, hostId: string): Promise<string> {
  const result = await server.call("start-session", { host_id: hostId });
  if (result.isError) throw new Error(`start-session failed: ${result.text}`);
  return result.structured!.sessionId as string;
}

describe("a host whose key changed", () => {
  let moved: TestSshd;
  let server: TestServer;
  let knownHosts: string;
  let newFingerprint: string;
  let logAfterRestart: number;

  beforeAll(async () => {
    moved = await startSshd();
    server = await startServer();
    knownHosts = join(server.home, ".ssh-mcp", "known_hosts");
    await server.ok("add-host", keyHost("web", moved));
    const first = await startSession(server, "web");
    await server.ok("close-session", { sessionId: first });
    await moved.restart({ newHostKey: true });
    logAfterRestart = moved.log().length;
    newFingerprint = fingerprintOf(moved.hostKeyPath + ".pub");
  });

  afterAll(async () => {
    await server?.close();
    await moved?.cleanup();
  });

  it("is refused before any authentication, naming the offered fingerprint, the known_hosts line and a fix", async () => {
    const result = await server.call("start-session", { host_id: "web" });

    expect(result.isError).toBe(true);
    expect(result.text).toContain(newFingerprint);
    expect(result.text).toContain(`${knownHosts}:1`);
    expect(result.text).toContain("ssh-keygen -R");
    expect(result.text).toContain("hostKey");
    // sshd logs the end of the connection last; only then is its absence of auth lines conclusive.
    const log = () => moved.log().slice(logAfterRestart);
    await until(() => /Connection closed by|Disconnected from|Connection reset by/.test(log()), "sshd to log the refused connection's end");
    expect(log()).toContain("Connection from 127.0.0.1");
    expect(log()).not.toMatch(/Accepted|Failed publickey|Failed password|Postponed/);
    const sessions = await server.call("list-sessions");
    expect(sessions.structured).toEqual({ sessions: [] });
  });

  it.each([
    ["without padding", ""],
    ["with '=' padding", "="],
  ])("is accepted once edit-host pins the new fingerprint (%s), and list-hosts shows the pin", async (_, padding) => {
    await server.ok("edit-host", { host_id: "web", hostKey: newFingerprint + padding });
    try {
      const listed = await server.call("list-hosts");
      expect(listed.text).toContain(`hostKey=${newFingerprint} (pinned)`);
      expect(listed.structured).toMatchObject({ hosts: [{ host_id: "web", hostKeyPinned: true }] });

      const sessionId = await startSession(server, "web");
      expect(await server.ok("exec", { session_id: sessionId, command: "echo pinned" })).toBe("pinned\n");
      await server.ok("close-session", { sessionId });
    } finally {
      await server.ok("edit-host", { host_id: "web", hostKey: "" });
    }
  });
});

describe("a host that is not one host name", () => {
  it.each(["*", "*.example.com", "web,db", "!db", "|1|c2FsdA==|aGFzaA==", "@revoked", "db:22"])(
    "add-host and edit-host refuse %j, naming the field and what it must be, and change nothing",
    async (host) => {
      const server = await serve();
      await server.ok("add-host", keyHost("web"));
      const file = join(server.home, ".ssh-mcp", "hosts.json");
      const before = readFileSync(file);

      const added = await server.call("add-host", { ...keyHost("bad"), host });
      const edited = await server.call("edit-host", { host_id: "web", host });

      for (const result of [added, edited]) {
        expect(result.isError).toBe(true);
        expect(result.text).toContain(`Invalid host ${JSON.stringify(host)}: must`);
        expect(result.text).toContain("an IPv4 address");
      }
      expect(readFileSync(file)).toEqual(before);
    },
  );

  it("saved by hand in hosts.json, start-session refuses it before connecting and known_hosts gets nothing", async () => {
    const home = tempHome();
    const dir = join(home, ".ssh-mcp");
    mkdirSync(dir, { mode: 0o700 });
    const star = { host_id: "star", host: "*", port: sshd.port, username: sshd.user, keyPath: sshd.keyPath };
    writeFileSync(join(dir, "hosts.json"), JSON.stringify({ hosts: [star] }), { mode: 0o600 });
    const server = await serve({ home });

    const result = await server.call("start-session", { host_id: "star" });

    expect(result.isError).toBe(true);
    expect(result.text).toContain(`Host 'star' is saved with an invalid host "*"`);
    expect(readdirSync(dir)).toEqual(["hosts.json"]);
    // Still listed, so edit-host can correct it.
    await server.ok("edit-host", { host_id: "star", host: sshd.host });
    await server.ok("close-session", { sessionId: await startSession(server, "star") });
  });
});

describe("SSH_MCP_STRICT_HOST_KEYS=no", () => {
  /** A HOME whose ~/.ssh-mcp/known_hosts records some other key for the shared sshd. */
  function homeWithWrongKey(): string {
    const home = tempHome();
    const keyDir = join(home, "other-key");
    mkdirSync(keyDir);
    keygen(join(keyDir, "host"));
    mkdirSync(join(home, ".ssh-mcp"), { mode: 0o700 });
    writeFileSync(join(home, ".ssh-mcp", "known_hosts"), `[127.0.0.1]:${sshd.port} ${publicKeyOf(join(keyDir, "host.pub"))}\n`, { mode: 0o600 });
    return home;
  }

  it("accepts a host key that differs from the recorded one, and warns on stderr at start", async () => {
    const home = homeWithWrongKey();
    const strict = await serve({ home });
    await strict.ok("add-host", keyHost("web"));
    // The same HOME under the default policy: proves the recorded key really is wrong.
    expect((await strict.call("start-session", { host_id: "web" })).isError).toBe(true);

    const lax = await serve({ home, env: { SSH_MCP_STRICT_HOST_KEYS: "no" } });
    await until(() => lax.stderr().includes("SSH_MCP_STRICT_HOST_KEYS=no"), "the start-up warning");
    const sessionId = await startSession(lax, "web");

    expect(await lax.ok("exec", { session_id: sessionId, command: "echo unchecked" })).toBe("unchecked\n");
    expect(lax.stderr()).toMatch(/WARNING.*not verified/);
    expect(strict.stderr()).not.toContain("SSH_MCP_STRICT_HOST_KEYS=no");
  });

  it("an invalid value makes the server exit non-zero with a message naming the variable", async () => {
    const home = tempHome();
    const child = spawn(process.execPath, [SERVER_PATH], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, SSH_MCP_STRICT_HOST_KEYS: "sometimes" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    // stdin stays open: a server that ignored the bad value would keep running until killed here.
    const killer = setTimeout(() => child.kill(), 10_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once("exit", (c, s) => resolve([c, s])),
    );
    clearTimeout(killer);

    expect(signal).toBeNull();
    expect(code).not.toBe(0);
    expect(stderr).toContain("SSH_MCP_STRICT_HOST_KEYS");
    expect(stderr).toContain("sometimes");
    expect(stdout).toBe("");
  });
});

describe("file modes", () => {
  it("creates ~/.ssh-mcp 0700, hosts.json 0600 and, on first contact, known_hosts 0600, whatever the umask", async () => {
    // The child inherits the umask at spawn: with 000 nothing but our own modes keeps the files private.
    const previous = process.umask(0o000);
    let server: TestServer;
    try {
      server = await serve();
    } finally {
      process.umask(previous);
    }
    const dir = join(server.home, ".ssh-mcp");

    await server.ok("add-host", keyHost("web"));
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, "hosts.json"))).toBe(0o600);

    const sessionId = await startSession(server, "web");
    await server.ok("close-session", { sessionId });
    expect(mode(join(dir, "known_hosts"))).toBe(0o600);
  });

  it("list-hosts, which is read-only, leaves a 0755 ~/.ssh-mcp and a 0644 hosts.json as they are and warns on stderr how to fix them", async () => {
    const home = tempHome();
    const dir = join(home, ".ssh-mcp");
    const file = join(dir, "hosts.json");
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    writeFileSync(file, JSON.stringify({ hosts: [{ host_id: "old", host: "10.0.0.1", port: 22, username: "u" }] }));
    chmodSync(file, 0o644);
    const before = readFileSync(file);
    const server = await serve({ home });

    expect(await server.ok("list-hosts")).toContain("old");

    expect(mode(dir)).toBe(0o755);
    expect(mode(file)).toBe(0o644);
    expect(readFileSync(file)).toEqual(before);
    await until(() => server.stderr().includes(`chmod 600 ${file}`), "the warning about hosts.json");
    expect(server.stderr()).toContain(`${dir} can be read by other users (mode 0755). Fix it with: chmod 700 ${dir}`);
    expect(server.stderr()).toContain(`${file} can be read by other users (mode 0644) and may hold passwords`);

    // A write does make them private, and says so.
    await server.ok("add-host", { host_id: "new", host: "10.0.0.2", username: "u" });
    expect(mode(dir)).toBe(0o700);
    expect(mode(file)).toBe(0o600);
    await until(() => server.stderr().includes(`Tightened permissions of ${file}`), "the tightening notice");
  });

  it("every host tool and start-session refuse a hosts.json others can write, naming the chmod that fixes it, and change nothing", async () => {
    const home = tempHome();
    const dir = join(home, ".ssh-mcp");
    const file = join(dir, "hosts.json");
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(file, JSON.stringify({ hosts: [{ host_id: "web", host: "10.0.0.1", port: 22, username: "u" }] }));
    chmodSync(file, 0o666);
    const before = readFileSync(file);
    const server = await serve({ home });

    for (const [name, args] of [
      ["list-hosts", {}],
      ["add-host", { host_id: "new", host: "10.0.0.2", username: "u" }],
      ["edit-host", { host_id: "web", port: 2222 }],
      ["remove-host", { host_id: "web" }],
      ["start-session", { host_id: "web" }],
    ] as const) {
      const result = await server.call(name, args);
      expect(result.isError, name).toBe(true);
      expect(result.text, name).toContain(`${file} is writable by other users (mode 0666)`);
      expect(result.text, name).toContain(`Fix it with: chmod 600 ${file}`);
    }
    expect(mode(file)).toBe(0o666);
    expect(readFileSync(file)).toEqual(before);
    expect(readdirSync(dir)).toEqual(["hosts.json"]);
  });

  it("a ~/.ssh-mcp linked to a world-writable directory is refused, and the directory keeps its mode and stays empty", async () => {
    const home = tempHome();
    const shared = join(home, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    symlinkSync(shared, join(home, ".ssh-mcp"));
    const server = await serve({ home });

    for (const [name, args] of [
      ["list-hosts", {}],
      ["add-host", { host_id: "web", host: "10.0.0.1", username: "u" }],
    ] as const) {
      const result = await server.call(name, args);
      expect(result.isError, name).toBe(true);
      expect(result.text, name).toContain(`is a symbolic link to ${shared}, which is writable by other users (mode 1777)`);
    }
    expect(statSync(shared).mode & 0o7777).toBe(0o1777);
    expect(readdirSync(shared)).toEqual([]);
  });
});

describe("secrets", () => {
  /** Everything a client or a log reader could see. */
  function exposed(results: ToolCall[], server: TestServer): string {
    return [...results.map((r) => `${r.text}\n${JSON.stringify(r.structured ?? null)}`), server.stderr()].join("\n");
  }

  it.skipIf(!IS_ROOT)("a password never appears in any tool result, structured content or stderr (needs root to create a password user)", async () => {
    const user = createPasswordUser()!;
    try {
      const wrong = `${user.password}-wrong`;
      const server = await serve();
      const results: ToolCall[] = [];
      const call = async (name: string, args: Record<string, unknown> = {}) => {
        const result = await server.call(name, args);
        results.push(result);
        return result;
      };
      const host = { host_id: "pw", host: sshd.host, port: sshd.port, username: user.username, password: user.password };

      expect((await call("add-host", host)).isError).toBe(false);
      expect((await call("add-host", host)).isError).toBe(true); // duplicate
      expect((await call("add-host", { ...host, host_id: "bad port", port: 70000 })).isError).toBe(true);
      expect((await call("list-hosts")).structured).toMatchObject({ hosts: [{ host_id: "pw", auth: "password" }] });
      expect((await call("edit-host", { host_id: "pw", password: user.password })).isError).toBe(false);
      expect((await call("edit-host", { host_id: "nobody", password: user.password })).isError).toBe(true);
      const started = await call("start-session", { host_id: "pw", sessionId: "pw-session" });
      expect(started.isError).toBe(false);
      expect((await call("exec", { session_id: "pw-session", command: "whoami; env" })).text).toContain(user.username);
      expect((await call("exec", { session_id: "pw-session", command: "false" })).isError).toBe(true);
      expect((await call("list-sessions")).structured).toMatchObject({ sessions: [{ sessionId: "pw-session" }] });
      expect((await call("close-session", { sessionId: "pw-session" })).isError).toBe(false);
      expect((await call("edit-host", { host_id: "pw", password: wrong })).isError).toBe(false);
      const refused = await call("start-session", { host_id: "pw" });
      expect(refused.isError).toBe(true);
      expect(refused.text).toMatch(/Authentication failed/);
      expect((await call("remove-host", { host_id: "pw" })).isError).toBe(false);
      expect((await call("remove-host", { host_id: "pw" })).isError).toBe(true);
      await until(() => server.stderr().includes("session pw-session ended"), "the session's end in the log");

      const seen = exposed(results, server);
      expect(seen).not.toContain(user.password);
      expect(seen).not.toContain(wrong);
    } finally {
      user.remove();
    }
  });

  it("SSH_MCP_KEY_PASSPHRASE never appears in any tool result, structured content or stderr, right or wrong", async () => {
    const home = tempHome();
    const host = { host_id: "enc", host: sshd.host, port: sshd.port, username: sshd.user, keyPath: sshd.encryptedKeyPath };
    const wrong = `${sshd.passphrase}-wrong`;

    const server = await serve({ home, env: { SSH_MCP_KEY_PASSPHRASE: sshd.passphrase } });
    const results: ToolCall[] = [];
    const call = async (s: TestServer, name: string, args: Record<string, unknown> = {}) => {
      const result = await s.call(name, args);
      results.push(result);
      return result;
    };
    expect((await call(server, "add-host", host)).isError).toBe(false);
    expect((await call(server, "list-hosts")).structured).toMatchObject({ hosts: [{ host_id: "enc", auth: "key" }] });
    expect((await call(server, "edit-host", { host_id: "enc", keyPath: sshd.encryptedKeyPath })).isError).toBe(false);
    expect((await call(server, "start-session", { host_id: "enc", sessionId: "enc-session" })).isError).toBe(false);
    expect((await call(server, "exec", { session_id: "enc-session", command: "echo unlocked; env" })).text).toContain("unlocked");
    expect((await call(server, "list-sessions")).structured).toMatchObject({ sessions: [{ sessionId: "enc-session" }] });
    expect((await call(server, "close-session", { sessionId: "enc-session" })).isError).toBe(false);
    await until(() => server.stderr().includes("session enc-session ended"), "the session's end in the log");

    const wrongServer = await serve({ home, env: { SSH_MCP_KEY_PASSPHRASE: wrong } });
    const refused = await call(wrongServer, "start-session", { host_id: "enc" });
    expect(refused.isError).toBe(true);
    expect(refused.text).toContain("SSH_MCP_KEY_PASSPHRASE");
    expect((await call(wrongServer, "remove-host", { host_id: "enc" })).isError).toBe(false);

    const seen = exposed(results, server) + exposed([], wrongServer);
    expect(seen).not.toContain(sshd.passphrase);
    expect(seen).not.toContain(wrong);
  });
});

describe("concurrent writers", () => {
  const add = (server: TestServer, id: string) => server.ok("add-host", { host_id: id, host: "10.0.0.1", username: "deploy" });

  it("30 concurrent add-host calls through one server keep all 30 hosts", async () => {
    const server = await serve();
    const ids = Array.from({ length: 30 }, (_, i) => `h${i}`);

    await Promise.all(ids.map((id) => add(server, id)));

    const listed = (await server.call("list-hosts")).structured as { hosts: Array<{ host_id: string }> };
    expect(listed.hosts.map((h) => h.host_id).sort()).toEqual([...ids].sort());
  });

  it("two servers sharing a HOME, adding 15 hosts each at once, leave 30 hosts in valid JSON", async () => {
    const home = tempHome();
    const [a, b] = await Promise.all([serve({ home }), serve({ home })]);
    const idsA = Array.from({ length: 15 }, (_, i) => `a${i}`);
    const idsB = Array.from({ length: 15 }, (_, i) => `b${i}`);

    await Promise.all([...idsA.map((id) => add(a!, id)), ...idsB.map((id) => add(b!, id))]);

    const dir = join(home, ".ssh-mcp");
    const saved = JSON.parse(readFileSync(join(dir, "hosts.json"), "utf8")) as { hosts: Array<{ host_id: string }> };
    expect(saved.hosts.map((h) => h.host_id).sort()).toEqual([...idsA, ...idsB].sort());
    expect(readdirSync(dir).sort()).toEqual(["hosts.json"]); // no lock or temp file left behind
  });
});

describe("a corrupt hosts.json", () => {
  it("is left byte for byte unchanged by every host tool and start-session, each naming the file", async () => {
    const home = tempHome();
    const dir = join(home, ".ssh-mcp");
    const file = join(dir, "hosts.json");
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(file, "{not json", { mode: 0o600 });
    const before = readFileSync(file);
    const server = await serve({ home });

    const calls: Array<[string, Record<string, unknown>]> = [
      ["list-hosts", {}],
      ["add-host", { host_id: "web", host: "10.0.0.1", username: "deploy" }],
      ["edit-host", { host_id: "web", port: 2222 }],
      ["remove-host", { host_id: "web" }],
      ["start-session", { host_id: "web" }],
    ];
    for (const [name, args] of calls) {
      const result = await server.call(name, args);
      expect(result.isError, name).toBe(true);
      expect(result.text, name).toContain(file);
      expect(readFileSync(file), name).toEqual(before);
    }
    expect(readdirSync(dir)).toEqual(["hosts.json"]);
  });
});

describe("tool annotations", () => {
  it("every tool sets all four hints explicitly as booleans, with the documented values", async () => {
    const server = await serve();
    const { tools } = await server.client.listTools();
    const hints = Object.fromEntries(tools.map((t) => [t.name, t.annotations ?? {}]));

    expect(Object.keys(hints).sort()).toEqual(
      [
        "add-host", "close-session", "download", "edit-file", "edit-host", "exec", "interrupt", "list-hosts", "list-sessions",
        "read-file", "read-output", "remove-host", "start-session", "upload", "write-file",
      ],
    );
    for (const [name, annotations] of Object.entries(hints)) {
      for (const hint of ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"] as const) {
        expect(typeof annotations[hint], `${name}.${hint}`).toBe("boolean");
      }
    }
    expect(hints["list-hosts"]!.readOnlyHint).toBe(true);
    expect(hints["list-sessions"]!.readOnlyHint).toBe(true);
    expect(hints["exec"]!.readOnlyHint).toBe(false);
    expect(hints["exec"]!.openWorldHint).toBe(true);
    expect(hints["remove-host"]!.destructiveHint).toBe(true);
    expect(hints["read-output"]!.readOnlyHint).toBe(true);
    expect(hints["interrupt"]!.destructiveHint).toBe(true);
  });
});

