// Host-key trust and agent forwarding against a real OpenSSH sshd, through the domain objects (no MCP).
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect as tcpConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  HostKeyMismatchError,
  HostKeyPinMismatchError,
  InvalidHostError,
  RevokedHostKeyError,
  UnknownHostKeyError,
  UnsafePathError,
  UnsafeHostNameError,
  createRuntime,
  readConfig,
  type Runtime,
} from "../../src/lib.js";
import { connect } from "../../src/ssh/connect.js";
import { startAgent, type TestAgent } from "../support/agent.js";
import { fingerprintOf, keygen, keyHostArgs, publicKeyOf, startSshd, type TestSshd } from "../support/sshd.js";

interface TestRuntime extends Runtime {
  home: string;
  /** What the runtime logged (the server's stderr lines). */
  logs: string[];
}

const runtimes: TestRuntime[] = [];

/** A runtime on a fresh temp HOME (or the given one), as the server would build it from `env`. */
function makeRuntime(env: Record<string, string> = {}, home = mkdtempSync(join(tmpdir(), "ssh-mcp-trust-home-"))): TestRuntime {
  const logs: string[] = [];
  const runtime = { ...createRuntime(readConfig(env, home), (m) => logs.push(m)), home, logs };
  runtimes.push(runtime);
  return runtime;
}

afterEach(async () => {
  for (const runtime of runtimes.splice(0)) {
    await runtime.sessions.closeAll();
    rmSync(runtime.home, { recursive: true, force: true });
  }
});

function knownHostsOf(home: string): string {
  return join(home, ".ssh-mcp", "known_hosts");
}

/** Write a ~/.ssh/known_hosts holding `lines`, hashed with `ssh-keygen -H` as many distributions configure it. */
function writeHashedUserKnownHosts(home: string, lines: string[]): string {
  const file = join(home, ".ssh", "known_hosts");
  mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
  writeFileSync(file, lines.join("\n") + "\n", { mode: 0o600 });
  execFileSync("ssh-keygen", ["-q", "-H", "-f", file], { stdio: "ignore" });
  rmSync(`${file}.old`, { force: true });
  return file;
}

/** Start a session, prove the shell answers, and close it. */
async function connectOnce(runtime: Runtime, hostId: string): Promise<void> {
  const session = await runtime.sessions.start(hostId);
  const result = await runtime.sessions.exec(session.sessionId, "echo ok", { timeoutMs: 10_000 });
  expect(result).toEqual({ exitCode: 0, output: "ok\n" });
  await runtime.sessions.close(session.sessionId);
}

async function startFailure(runtime: Runtime, hostId: string): Promise<Error> {
  const error = await runtime.sessions.start(hostId).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!error) throw new Error(`start-session on '${hostId}' was expected to fail but connected`);
  return error;
}

let sshd: TestSshd;

beforeAll(async () => {
  sshd = await startSshd();
});

afterAll(async () => {
  await sshd?.cleanup();
});

const keyHost = (hostId: string, target: TestSshd = sshd) => keyHostArgs(target, hostId);

describe("first contact under accept-new", () => {
  it("records the key in ~/.ssh-mcp/known_hosts as '[127.0.0.1]:<port> ssh-ed25519 <key>' and never creates ~/.ssh/known_hosts", async () => {
    const runtime = makeRuntime();
    await runtime.store.add(keyHost("web"));

    await connectOnce(runtime, "web");

    expect(readFileSync(knownHostsOf(runtime.home), "utf8")).toBe(`[127.0.0.1]:${sshd.port} ${publicKeyOf(sshd.hostKeyPath + ".pub")}\n`);
    expect(existsSync(join(runtime.home, ".ssh", "known_hosts"))).toBe(false);
    expect(runtime.logs.join("\n")).toContain(`Permanently added '[127.0.0.1]:${sshd.port}'`);
  });

  it("does not record a host it already knows a second time", async () => {
    const runtime = makeRuntime();
    await runtime.store.add(keyHost("web"));

    await connectOnce(runtime, "web");
    await connectOnce(runtime, "web");

    expect(readFileSync(knownHostsOf(runtime.home), "utf8").trim().split("\n")).toHaveLength(1);
  });
});

describe("a host whose key changed", () => {
  let moved: TestSshd;
  let home: string;
  let oldFingerprint: string;
  let newFingerprint: string;

  beforeAll(async () => {
    moved = await startSshd();
    home = mkdtempSync(join(tmpdir(), "ssh-mcp-trust-home-"));
    // Not makeRuntime(): afterEach would delete this home, and the key it records is the point.
    const first = createRuntime(readConfig({}, home));
    await first.store.add(keyHost("web", moved));
    await connectOnce(first, "web");
    oldFingerprint = fingerprintOf(moved.hostKeyPath + ".pub");
    await moved.restart({ newHostKey: true });
    newFingerprint = fingerprintOf(moved.hostKeyPath + ".pub");
  });

  afterAll(async () => {
    await moved?.cleanup();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("is refused with HostKeyMismatchError naming the offered fingerprint, the known_hosts line and a way out", async () => {
    expect(newFingerprint).not.toBe(oldFingerprint);
    const runtime = createRuntime(readConfig({}, home));

    const error = await startFailure(runtime, "web");

    expect(error).toBeInstanceOf(HostKeyMismatchError);
    const mismatch = error as HostKeyMismatchError;
    expect(mismatch.fingerprint).toBe(newFingerprint);
    expect(mismatch.file).toBe(knownHostsOf(home));
    expect(mismatch.line).toBe(1);
    expect(mismatch.message).toContain(newFingerprint);
    expect(mismatch.message).toContain(`${knownHostsOf(home)}:1`);
    expect(mismatch.message).toContain("ssh-keygen -R");
    expect(mismatch.message).toContain("hostKey=");
    expect(runtime.sessions.list()).toEqual([]);
  });

  it.each([
    ["without padding", ""],
    ["with '=' padding", "="],
  ])("is accepted once the new fingerprint is pinned (%s), leaving known_hosts as it was", async (_, padding) => {
    const runtime = createRuntime(readConfig({}, home));
    const before = readFileSync(knownHostsOf(home));
    await runtime.store.edit("web", { hostKey: newFingerprint + padding });
    try {
      await connectOnce(runtime, "web");
      expect((await runtime.store.get("web")).hostKey).toBe(newFingerprint);
    } finally {
      await runtime.store.edit("web", { hostKey: "" });
    }
    expect(readFileSync(knownHostsOf(home))).toEqual(before);
  });

  it("refuses a wrong pin even when known_hosts records exactly the key the server offers", async () => {
    const runtime = makeRuntime();
    mkdirSync(join(runtime.home, ".ssh-mcp"), { mode: 0o700 });
    writeFileSync(knownHostsOf(runtime.home), `[127.0.0.1]:${moved.port} ${publicKeyOf(moved.hostKeyPath + ".pub")}\n`, { mode: 0o600 });
    await runtime.store.add({ ...keyHost("web", moved), hostKey: oldFingerprint });

    const error = await startFailure(runtime, "web");

    expect(error).toBeInstanceOf(HostKeyPinMismatchError);
    expect((error as HostKeyPinMismatchError).fingerprint).toBe(newFingerprint);
    expect(error.message).toContain(oldFingerprint);
    // Without the pin the same known_hosts entry is enough: it was the pin that refused.
    await runtime.store.edit("web", { hostKey: "" });
    await connectOnce(runtime, "web");
  });
});

describe("SSH_MCP_STRICT_HOST_KEYS=yes", () => {
  it("starts a session to a host known only from a hashed entry in ~/.ssh/known_hosts, leaving that file byte for byte", async () => {
    const runtime = makeRuntime({ SSH_MCP_STRICT_HOST_KEYS: "yes" });
    const userFile = writeHashedUserKnownHosts(runtime.home, [`[127.0.0.1]:${sshd.port} ${publicKeyOf(sshd.hostKeyPath + ".pub")}`]);
    const before = readFileSync(userFile);
    expect(before.toString()).toMatch(/^\|1\|/);
    expect(before.toString()).not.toContain("127.0.0.1");
    await runtime.store.add(keyHost("web"));

    await connectOnce(runtime, "web");

    expect(readFileSync(userFile)).toEqual(before);
    expect(existsSync(knownHostsOf(runtime.home))).toBe(false);
  });

  it("refuses a host no known_hosts file mentions, showing the fingerprint it offered, and records nothing", async () => {
    const runtime = makeRuntime({ SSH_MCP_STRICT_HOST_KEYS: "yes" });
    // The same key under another port: hashed names cover host and port, so this does not vouch for ours.
    const userFile = writeHashedUserKnownHosts(runtime.home, [`[127.0.0.1]:${sshd.port + 1} ${publicKeyOf(sshd.hostKeyPath + ".pub")}`]);
    const before = readFileSync(userFile);
    await runtime.store.add(keyHost("web"));

    const error = await startFailure(runtime, "web");

    expect(error).toBeInstanceOf(UnknownHostKeyError);
    const fingerprint = fingerprintOf(sshd.hostKeyPath + ".pub");
    expect((error as UnknownHostKeyError).fingerprint).toBe(fingerprint);
    expect(error.message).toContain(fingerprint);
    expect(readFileSync(userFile)).toEqual(before);
    expect(existsSync(knownHostsOf(runtime.home))).toBe(false);
    expect(runtime.sessions.list()).toEqual([]);
  });
});

describe("a known_hosts file that cannot be trusted", () => {
  it("as a symbolic link, is refused by start-session under accept-new, and no key is appended to its target", async () => {
    const runtime = makeRuntime();
    await runtime.store.add(keyHost("web"));
    const target = join(runtime.home, "some-other-file");
    writeFileSync(target, "# not ours\n", { mode: 0o644 });
    symlinkSync(target, knownHostsOf(runtime.home));

    const error = await startFailure(runtime, "web");

    expect(error).toBeInstanceOf(UnsafePathError);
    expect(error.message).toContain(`${knownHostsOf(runtime.home)} is a symbolic link to ${target}`);
    expect(readFileSync(target, "utf8")).toBe("# not ours\n");
  });

  it("writable by others, is refused even under SSH_MCP_STRICT_HOST_KEYS=no and with a pin, naming the fix", async () => {
    const runtime = makeRuntime({ SSH_MCP_STRICT_HOST_KEYS: "no" });
    await runtime.store.add({ ...keyHost("web"), hostKey: fingerprintOf(sshd.hostKeyPath + ".pub") });
    writeFileSync(knownHostsOf(runtime.home), "");
    chmodSync(knownHostsOf(runtime.home), 0o666);

    const error = await startFailure(runtime, "web");

    expect(error).toBeInstanceOf(UnsafePathError);
    expect(error.message).toContain(`chmod go-w ${knownHostsOf(runtime.home)}`);
  });
});

describe("a revoked host key", () => {
  /** A runtime whose ~/.ssh/known_hosts marks the shared sshd's real key @revoked. */
  function runtimeWithRevokedKey(env: Record<string, string> = {}): TestRuntime {
    const runtime = makeRuntime(env);
    mkdirSync(join(runtime.home, ".ssh"), { mode: 0o700 });
    writeFileSync(join(runtime.home, ".ssh", "known_hosts"), `@revoked [127.0.0.1]:* ${publicKeyOf(sshd.hostKeyPath + ".pub")}\n`, { mode: 0o600 });
    return runtime;
  }

  it.each<[string, Record<string, string>, boolean]>([
    ["under accept-new", {}, false],
    ["when the host pins exactly that key", {}, true],
    ["under SSH_MCP_STRICT_HOST_KEYS=no", { SSH_MCP_STRICT_HOST_KEYS: "no" }, false],
    ["under SSH_MCP_STRICT_HOST_KEYS=no with a pin", { SSH_MCP_STRICT_HOST_KEYS: "no" }, true],
  ])("is refused %s, and nothing is recorded", async (_name, env, pinned) => {
    const runtime = runtimeWithRevokedKey(env);
    await runtime.store.add({ ...keyHost("web"), ...(pinned && { hostKey: fingerprintOf(sshd.hostKeyPath + ".pub") }) });

    const error = await startFailure(runtime, "web");

    expect(error).toBeInstanceOf(RevokedHostKeyError);
    expect(error.message).toContain("revoked");
    expect(existsSync(knownHostsOf(runtime.home))).toBe(false);
    expect(runtime.sessions.list()).toEqual([]);
  });
});

describe("a host that is not one literal name", () => {
  /** A TCP connection to the shared sshd: what a resolver (or a jump host) answering for any name would hand ssh2. */
  function socketToSshd(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect(sshd.port, sshd.host, () => resolve(socket));
      socket.once("error", reject);
    });
  }

  it.each(["*", "*.example.com,web", "!db"])(
    "%j reaching a real sshd is refused before a known_hosts line is written, under accept-new",
    async (pattern) => {
      const runtime = makeRuntime();
      const recorded = `[127.0.0.1]:${sshd.port} ${publicKeyOf(sshd.hostKeyPath + ".pub")}\n`;
      mkdirSync(join(runtime.home, ".ssh-mcp"), { mode: 0o700 });
      writeFileSync(knownHostsOf(runtime.home), recorded, { mode: 0o600 });
      const host = { host_id: "crafted", host: pattern, port: 22, username: sshd.user, keyPath: sshd.keyPath };
      const options = { trust: runtime.trust, connectTimeoutMs: 10_000, keepaliveIntervalMs: 0, keepaliveCountMax: 3, homeDir: runtime.home };

      const error = await connect(host, options, await socketToSshd()).then(
        (client) => {
          client.end();
          return undefined;
        },
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(UnsafeHostNameError);
      expect(readFileSync(knownHostsOf(runtime.home), "utf8")).toBe(recorded);
    },
  );

  it("saved by hand in hosts.json, is refused by start-session before connecting, naming the host and the fix", async () => {
    const runtime = makeRuntime();
    await runtime.store.add(keyHost("web"));
    const file = join(runtime.home, ".ssh-mcp", "hosts.json");
    const saved = JSON.parse(readFileSync(file, "utf8")) as { hosts: Array<Record<string, unknown>> };
    saved.hosts.push({ ...saved.hosts[0], host_id: "star", host: "*", proxyJump: "web" });
    writeFileSync(file, JSON.stringify(saved), { mode: 0o600 });
    const logLength = sshd.log().length;

    const error = await startFailure(runtime, "star");

    expect(error).toBeInstanceOf(InvalidHostError);
    expect(error.message).toContain(`Host 'star' is saved with an invalid host "*"`);
    expect(error.message).toContain("edit-host");
    expect(sshd.log().slice(logLength)).not.toContain("Connection from");
    expect(existsSync(knownHostsOf(runtime.home))).toBe(false);
    // The host stays listed, so it can be corrected or removed with the tools.
    expect((await runtime.store.list()).map((h) => h.host_id)).toEqual(["web", "star"]);
  });
});

describe("agent forwarding", () => {
  let agent: TestAgent;

  beforeAll(async () => {
    agent = await startAgent(sshd.dir, sshd.keyPath);
  });

  afterAll(() => agent?.stop());

  /** A host with neither password nor keyPath, so the agent authenticates. */
  async function agentSession(agentForward?: boolean): Promise<{ runtime: TestRuntime; sessionId: string }> {
    const runtime = makeRuntime({ SSH_AUTH_SOCK: agent.socket });
    await runtime.store.add({ host_id: "web", host: sshd.host, port: sshd.port, username: sshd.user, ...(agentForward === undefined ? {} : { agentForward }) });
    const { sessionId } = await runtime.sessions.start("web");
    return { runtime, sessionId };
  }

  it("authenticates with the agent but does not forward it by default", async () => {
    const { runtime, sessionId } = await agentSession();

    const result = await runtime.sessions.exec(sessionId, 'echo "[$SSH_AUTH_SOCK]"', { timeoutMs: 10_000 });

    expect(result).toEqual({ exitCode: 0, output: "[]\n" });
  });

  it("forwards the agent when the host has agentForward: true, so the remote ssh-add lists our key", async () => {
    const { runtime, sessionId } = await agentSession(true);

    const socket = await runtime.sessions.exec(sessionId, 'echo "[$SSH_AUTH_SOCK]"', { timeoutMs: 10_000 });
    const keys = await runtime.sessions.exec(sessionId, "ssh-add -l", { timeoutMs: 10_000 });

    expect(socket.exitCode).toBe(0);
    expect(socket.output).toMatch(/^\[\/\S+\]\n$/);
    expect(socket.output).not.toContain(agent.socket);
    expect(keys.exitCode).toBe(0);
    expect(keys.output).toContain(fingerprintOf(sshd.keyPath + ".pub"));
  });
});

describe("a host with several host keys", () => {
  let dual: TestSshd;
  let ecdsaKey: string;
  let keyDir: string;

  beforeAll(async () => {
    keyDir = mkdtempSync(join(tmpdir(), "ssh-mcp-ecdsa-"));
    ecdsaKey = join(keyDir, "ssh_host_ecdsa_key");
    keygen(ecdsaKey, "ecdsa");
    // sshd offers ed25519 (its first HostKey) and ecdsa; ssh2 would pick ed25519 unless told otherwise.
    dual = await startSshd({ extraConfig: [`HostKey ${ecdsaKey}`] });
  });
  afterAll(async () => {
    await dual?.cleanup();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it("negotiates the recorded key type first, as OpenSSH does, so a host known by its ecdsa key connects", async () => {
    const runtime = makeRuntime();
    mkdirSync(join(runtime.home, ".ssh-mcp"), { recursive: true, mode: 0o700 });
    writeFileSync(knownHostsOf(runtime.home), `[127.0.0.1]:${dual.port} ${publicKeyOf(ecdsaKey + ".pub")}\n`, { mode: 0o600 });
    await runtime.store.add(keyHost("dual", dual));
    await connectOnce(runtime, "dual");
    expect(readFileSync(knownHostsOf(runtime.home), "utf8").trim().split("\n")).toHaveLength(1);
  });

  it("treats a different key of the recorded type as a changed key", async () => {
    const runtime = makeRuntime();
    const other = join(keyDir, "other_ecdsa");
    keygen(other, "ecdsa");
    mkdirSync(join(runtime.home, ".ssh-mcp"), { recursive: true, mode: 0o700 });
    writeFileSync(knownHostsOf(runtime.home), `[127.0.0.1]:${dual.port} ${publicKeyOf(other + ".pub")}\n`, { mode: 0o600 });
    await runtime.store.add(keyHost("dual", dual));
    const error = await startFailure(runtime, "dual");
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect(error.message).toContain(fingerprintOf(ecdsaKey + ".pub"));
  });
});
