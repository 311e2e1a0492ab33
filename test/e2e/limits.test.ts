// Limits through the built server over stdio: nothing a client sends may hang it, take it down or
// make its replies unusable.
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../support/mcp.js";
import { rawServer } from "../support/raw-server.js";
import { keyHostArgs, startSshd, type TestSshd } from "../support/sshd.js";

let sshd: TestSshd;
const servers: TestServer[] = [];

/** A server on a fresh HOME; closed after each test. */
async function serve(env: Record<string, string> = {}): Promise<TestServer> {
  const server = await startServer({ env });
  servers.push(server);
  return server;
}

beforeAll(async () => {
  sshd = await startSshd();
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await sshd?.cleanup();
});

/** Resolves to what `promise` gave, or to "timed out" after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "timed out"> {
  return Promise.race([promise, new Promise<"timed out">((r) => setTimeout(() => r("timed out"), ms).unref())]);
}

describe("key files", () => {
  it("keeps answering while start-session calls meet a key file swapped for a FIFO", async () => {
    const srv = await serve();
    const key = join(srv.home, "id_swapped");
    copyFileSync(sshd.keyPath, key);
    await srv.ok("add-host", keyHostArgs(sshd, "k", { keyPath: key }));
    rmSync(key);
    execFileSync("mkfifo", [key]);
    // More than libuv's four pool threads: a blocking open on each would starve every file read.
    const starts = Array.from({ length: 6 }, () => srv.call("start-session", { host_id: "k" }));
    const results = await within(Promise.all(starts), 10_000);
    expect(results).not.toBe("timed out");
    for (const r of results as Awaited<(typeof starts)[number]>[]) expect(r.text).toMatch(/not a regular file/);
    const listed = await within(srv.call("list-hosts"), 5_000);
    expect(listed).toMatchObject({ isError: false });
  }, 30_000);
});

const MIB = 1024 * 1024;
const hostsFile = (srv: TestServer) => join(srv.home, ".ssh-mcp", "hosts.json");
const readHosts = (srv: TestServer) => (existsSync(hostsFile(srv)) ? readFileSync(hostsFile(srv), "utf8") : "");

describe("tool arguments", () => {
  it("advertises strict schemas: no extra properties, a maxLength on every string, whole-number ranges", async () => {
    const srv = await serve();
    const { tools } = await srv.client.listTools();
    for (const tool of tools) {
      const schema = tool.inputSchema as { additionalProperties?: unknown; properties?: Record<string, Record<string, unknown>> };
      expect(schema.additionalProperties, tool.name).toBe(false);
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        if (property.type === "string") expect(property.maxLength, `${tool.name}.${name}`).toEqual(expect.any(Number));
      }
    }
    const props = (name: string) => (tools.find((t) => t.name === name)!.inputSchema as { properties: Record<string, unknown> }).properties;
    expect(props("add-host").port).toMatchObject({ type: "integer", minimum: 1, maximum: 65535 });
    expect(props("edit-host").port).toMatchObject({ type: "integer", minimum: 1, maximum: 65535 });
    expect(props("exec").timeout_ms).toMatchObject({ type: "integer", maximum: 2 ** 31 - 1 });
    expect(props("exec").command).toMatchObject({ maxLength: 512 * 1024 });
  });

  it("refuses an unknown argument to every tool, naming it and the valid ones", async () => {
    const srv = await serve();
    const { tools } = await srv.client.listTools();
    for (const tool of tools) {
      const valid = Object.keys((tool.inputSchema as { properties?: object }).properties ?? {});
      const r = await srv.call(tool.name, { bogus_arg: 1 });
      expect(r.isError, tool.name).toBe(true);
      expect(r.text, tool.name).toMatch(/unknown argument 'bogus_arg'/i);
      for (const name of valid) expect(r.text, tool.name).toContain(name);
    }
  });

  it("refuses a misspelt hostkey instead of saving the host without its pin", async () => {
    const srv = await serve();
    const r = await srv.call("add-host", keyHostArgs(sshd, "pinned", { hostkey: "SHA256:" + "A".repeat(43) }));
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/unknown argument 'hostkey'.*did you mean 'hostKey'/is);
    expect(readHosts(srv)).toBe("");
  });

  it("refuses each string argument over its limit, naming the argument, and saves nothing", async () => {
    const srv = await serve();
    await srv.ok("add-host", keyHostArgs(sshd, "web"));
    const before = readHosts(srv);
    const long = (n: number) => "a".repeat(n);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["add-host", keyHostArgs(sshd, long(65)), "host_id"],
      ["add-host", keyHostArgs(sshd, "h", { host: long(254) }), "host"],
      ["add-host", keyHostArgs(sshd, "h", { username: long(257) }), "username"],
      ["add-host", keyHostArgs(sshd, "h", { password: long(1025) }), "password"],
      ["add-host", keyHostArgs(sshd, "h", { keyPath: "/" + long(4096) }), "keyPath"],
      ["add-host", keyHostArgs(sshd, "h", { hostKey: long(65) }), "hostKey"],
      ["add-host", keyHostArgs(sshd, "h", { proxyJump: long(65) }), "proxyJump"],
      ["edit-host", { host_id: "web", host: long(254) }, "host"],
      ["start-session", { host_id: "web", sessionId: long(129) }, "sessionId"],
      ["exec", { session_id: long(129), command: "true" }, "session_id"],
      ["exec", { session_id: "s", command: long(512 * 1024 + 1) }, "command"],
      ["close-session", { sessionId: long(129) }, "sessionId"],
    ];
    for (const [tool, args, field] of cases) {
      const r = await srv.call(tool, args);
      expect(r.isError, `${tool} ${field}`).toBe(true);
      expect(r.text, `${tool} ${field}`).toMatch(new RegExp(`too long.*\\b${field}\\b`, "s"));
      expect(r.text.length, `${tool} ${field}`).toBeLessThan(1000);
    }
    expect(readHosts(srv)).toBe(before);
  });

  it("refuses a 9 MiB host, so list-hosts stays small", async () => {
    const srv = await serve();
    const r = await srv.call("add-host", keyHostArgs(sshd, "huge", { host: "h".repeat(9 * MIB) }));
    expect(r.isError).toBe(true);
    expect(r.text.length).toBeLessThan(1000);
    expect((await srv.call("list-hosts")).text).toMatch(/No hosts saved yet/);
  });

  it("takes only whole ports from 1 to 65535 and timeouts Node's timers can hold", async () => {
    const srv = await serve();
    for (const port of [22.5, 0, 65536, "2".repeat(MIB)]) {
      const r = await srv.call("add-host", keyHostArgs(sshd, "p", { port }));
      expect(r.isError, String(port)).toBe(true);
      expect(r.text, String(port)).toMatch(/whole number from 1 to 65535.*port/s);
      expect(r.text.length).toBeLessThan(300);
    }
    const r = await srv.call("exec", { session_id: "s", command: "true", timeout_ms: 2 ** 31 });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/2147483647.*timeout_ms/s);
  });

  it("names the host and field when a hand-edited hosts.json holds an oversized value", async () => {
    const srv = await serve();
    mkdirSync(join(srv.home, ".ssh-mcp"), { recursive: true, mode: 0o700 });
    const hosts = [
      { host_id: "ok", host: "10.0.0.1", port: 22, username: "u" },
      { host_id: "big", host: "h".repeat(9 * MIB), port: 22, username: "u" },
    ];
    writeFileSync(hostsFile(srv), JSON.stringify({ hosts }), { mode: 0o600 });
    const r = await srv.call("list-hosts");
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/hosts\[1\]\.host \(host_id 'big'\): too long.*253/);
    expect(r.text.length).toBeLessThan(1000);
  });
});

describe("the connection to the client", () => {
  /** How many connections the test sshd is serving (one child process each). */
  const sshdChildren = () =>
    promisify(execFile)("pgrep", ["-P", String(sshd.pid())]).then(
      (r) => r.stdout.trim().split("\n").filter(Boolean).length,
      () => 0,
    );

  it("on a request over the 10 MiB message limit, says why on stderr, exits and closes its SSH sessions", async () => {
    const home = mkdtempSync(join(tmpdir(), "ssh-mcp-home-"));
    const raw = rawServer(home);
    try {
      await raw.initialize();
      await raw.callTool("add-host", keyHostArgs(sshd, "s"));
      expect((await raw.callTool("start-session", { host_id: "s" })).isError).toBeFalsy();
      const before = await sshdChildren();
      expect(before).toBeGreaterThan(0);

      const huge = JSON.stringify({ jsonrpc: "2.0", id: 99, method: "tools/call", params: { name: "list-hosts", arguments: { x: "a".repeat(11 * MIB) } } });
      raw.child.stdin.write(huge + "\n");
      expect(await within(raw.exited, 10_000)).toBe(1);
      expect(raw.stderr()).toMatch(/ssh-mcp: shutting down: .*larger than the 10 MiB/);
      for (let i = 0; i < 50 && (await sshdChildren()) >= before; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await sshdChildren()).toBeLessThan(before);
    } finally {
      raw.child.kill();
      rmSync(home, { recursive: true, force: true });
    }
  }, 30_000);

  it("keeps serving, without spinning, when the client stops reading its stderr", async () => {
    const home = mkdtempSync(join(tmpdir(), "ssh-mcp-home-"));
    const raw = rawServer(home);
    try {
      await raw.initialize();
      raw.child.stderr.destroy(); // every later log line now fails with EPIPE
      raw.child.stdin.write("not json, so the server logs a line\n");
      await new Promise((r) => setTimeout(r, 500));
      const cpuSeconds = async () =>
        Number((await promisify(execFile)("ps", ["-o", "times=", "-p", String(raw.child.pid)])).stdout.trim());
      const before = await cpuSeconds();
      await new Promise((r) => setTimeout(r, 1500));
      expect(await cpuSeconds()).toBeLessThanOrEqual(before + 1); // a write-EPIPE-log loop burns a whole core
      expect((await within(raw.callTool("list-hosts", {}), 5000)) as object).toMatchObject({ content: expect.any(Array) });
      raw.child.stdin.end();
      expect(await within(raw.exited, 5000)).toBe(0);
    } finally {
      raw.child.kill("SIGKILL");
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("keeps serving after a line that is not JSON", async () => {
    const home = mkdtempSync(join(tmpdir(), "ssh-mcp-home-"));
    const raw = rawServer(home);
    try {
      await raw.initialize();
      raw.child.stdin.write("this is not json\n");
      expect((await raw.callTool("list-hosts", {})).isError).toBeFalsy();
      expect(raw.stderr()).toMatch(/ignored a line from the client that is not JSON/);
      expect(raw.stderr()).not.toContain("this is not json");
      raw.child.stdin.end();
      expect(await raw.exited).toBe(0);
    } finally {
      raw.child.kill();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("edit-host", () => {
  it("does not send a saved password to a new address: it is removed, and the result says so", async () => {
    const srv = await serve();
    await srv.ok("add-host", { host_id: "db", host: "db.internal", username: "admin", password: "s3cret-pw" });
    const text = await srv.ok("edit-host", { host_id: "db", port: 2222 });
    expect(text).toContain(
      "The stored password was removed because port changed; give password again in the same edit-host call to keep one.",
    );
    expect((await srv.call("list-hosts")).text).toMatch(/^db\tadmin@db\.internal:2222\tauth=agent$/m);
    expect(readHosts(srv)).not.toContain("s3cret-pw");
  });

  it("keeps a pinned hostKey when the host moves, and says what that means", async () => {
    const srv = await serve();
    await srv.ok("add-host", { host_id: "db", host: "db.internal", username: "admin", hostKey: "SHA256:" + "A".repeat(42) + "E" });
    const text = await srv.ok("edit-host", { host_id: "db", host: "db2.internal" });
    expect(text).toMatch(/pinned hostKey was kept.*host key mismatch.*hostKey ""/s);
  });
});

describe("list-hosts", () => {
  it("stays under the client's 10 MiB message limit with 10,000 hosts of the longest values", async () => {
    const srv = await serve();
    mkdirSync(join(srv.home, ".ssh-mcp"), { recursive: true, mode: 0o700 });
    const hosts = Array.from({ length: 10_000 }, (_, i) => ({
      host_id: `h${i}`.padEnd(64, "x"),
      host: "h".repeat(253),
      port: 22,
      username: "u".repeat(256),
      password: "p",
      hostKey: "SHA256:" + "A".repeat(42) + "E",
      agentForward: true,
      proxyJump: "h0".padEnd(64, "x"),
    }));
    hosts[0]!.proxyJump = undefined as unknown as string;
    writeFileSync(hostsFile(srv), JSON.stringify({ hosts }), { mode: 0o600 });
    const r = await within(srv.call("list-hosts"), 30_000);
    expect(r).not.toBe("timed out");
    const listed = r as Exclude<typeof r, "timed out">;
    expect(listed.isError).toBe(false);
    expect(listed.text).toMatch(/^h0x+\tu+@h+:22\tauth=password/);
    expect(listed.text).toMatch(/\n\.\.\. and \d+ more hosts not shown: this reply is limited to 2 MiB\. start-session and edit-host take any saved host_id\.$/);
    const shown = (listed.structured as { hosts: unknown[]; notShown: number });
    expect(shown.hosts.length + shown.notShown).toBe(10_000);
  }, 60_000);
});

describe("session limits", () => {
  it("refuses a session beyond SSH_MCP_MAX_SESSIONS, saying what to do, and takes one again after a close", async () => {
    const srv = await serve({ SSH_MCP_MAX_SESSIONS: "2" });
    await srv.ok("add-host", keyHostArgs(sshd, "web"));
    const first = await srv.ok("start-session", { host_id: "web" });
    await srv.ok("start-session", { host_id: "web" });
    const third = await srv.call("start-session", { host_id: "web" });
    expect(third.isError).toBe(true);
    expect(third.text).toMatch(/2 sessions are open.*SSH_MCP_MAX_SESSIONS.*close-session/);
    await srv.ok("close-session", { sessionId: first });
    await srv.ok("start-session", { host_id: "web" });
  });

  it("connects at most SSH_MCP_MAX_CONNECTING at once, queues the rest within SSH_MCP_MAX_SESSIONS, and keeps answering", async () => {
    const { createServer } = await import("node:net");
    const acceptedAt: number[] = [];
    // Accepts TCP and never speaks SSH, like the silent address that exhausted file descriptors.
    const silent = createServer((socket) => {
      acceptedAt.push(Date.now());
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const srv = await serve({ SSH_MCP_MAX_CONNECTING: "2", SSH_MCP_MAX_SESSIONS: "4", SSH_MCP_CONNECT_TIMEOUT_MS: "1500" });
      await srv.ok("add-host", keyHostArgs(sshd, "silent", { port: (silent.address() as { port: number }).port }));
      const starts = Array.from({ length: 6 }, () => srv.call("start-session", { host_id: "silent" }));
      // Two over the session limit are refused at once; the other four connect two at a time.
      const first = await within(Promise.race(starts), 1000);
      expect((first as { text: string }).text).toMatch(/4 sessions are open or starting.*SSH_MCP_MAX_SESSIONS.*close-session/);
      expect((await within(srv.call("list-hosts"), 1000)) as object).toMatchObject({ isError: false });
      const texts = (await Promise.all(starts)).map((r) => r.text);
      expect(texts.filter((t) => /SSH_MCP_MAX_SESSIONS/.test(t))).toHaveLength(2);
      expect(texts.filter((t) => /Timed out connecting/.test(t))).toHaveLength(4);
      // Two connections at once, then two more once the first two have given up after 1500 ms.
      expect(acceptedAt).toHaveLength(4);
      expect(acceptedAt[1]! - acceptedAt[0]!).toBeLessThan(1000);
      expect(acceptedAt[2]! - acceptedAt[0]!).toBeGreaterThan(1200);
      expect(acceptedAt[3]! - acceptedAt[2]!).toBeLessThan(1000);
    } finally {
      silent.close();
    }
  }, 30_000);
});
