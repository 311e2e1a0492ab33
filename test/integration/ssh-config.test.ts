import { execFile } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialsError, HostNotFoundError, UnknownHostKeyError } from "../../src/lib.js";
import { SshConfigHostReadOnlyError } from "../../src/hosts/host-directory.js";
import { startAgent, type TestAgent } from "../support/agent.js";
import { testRuntime, type TestRuntime } from "../support/runtime.js";
import { keyHostArgs, publicKeyOf, startSshd, type TestSshd } from "../support/sshd.js";

let jump1: TestSshd; // both jump hosts allow TCP forwarding
let jump2: TestSshd;
let target: TestSshd;
let rt: TestRuntime;

/** ~/.ssh/config of the test HOME: Host * defaults with % tokens, hosts in an included file, a two-hop chain. */
function writeConfig(home: string): void {
  const ssh = join(home, ".ssh");
  mkdirSync(join(ssh, "hosts.d"), { recursive: true, mode: 0o700 });
  mkdirSync(join(ssh, "keys"), { mode: 0o700 });
  copyFileSync(target.keyPath, join(ssh, "keys", `${target.user}_127.0.0.1`));
  copyFileSync(target.encryptedKeyPath, join(ssh, "keys", "encrypted"));
  // The target's key is known only to this file, read by the host that trusts nothing else.
  writeFileSync(join(ssh, "known_target"), `[127.0.0.1]:${target.port} ${publicKeyOf(`${target.hostKeyPath}.pub`)}\n`);
  writeFileSync(
    join(ssh, "config"),
    [
      "Include hosts.d/*.conf",
      // IdentityFile accumulates, so the hosts that test other keys stay out of this block.
      "Host * !nokey !encrypted",
      "  IdentityFile ~/.ssh/missing_%u",
      "  IdentityFile %d/.ssh/keys/%r_%h",
      "Host *",
      "  HostName 127.0.0.1",
      "  ConnectTimeout 10",
      "  ServerAliveInterval 5",
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(ssh, "hosts.d", "lab.conf"),
    [
      "Host jump1",
      `  Port ${jump1.port}`,
      "Host jump2",
      `  Port ${jump2.port}`,
      "Host target",
      `  Port ${target.port}`,
      "  ProxyJump jump1,jump2",
      "Host direct",
      `  Port ${target.port}`,
      "Host strict-known",
      `  Port ${target.port}`,
      "  StrictHostKeyChecking yes",
      "  UserKnownHostsFile ~/.ssh/known_target",
      "Host strict-unknown",
      `  Port ${jump1.port}`,
      "  StrictHostKeyChecking yes",
      "  UserKnownHostsFile ~/.ssh/known_nothing",
      "Host encrypted",
      `  Port ${target.port}`,
      "  IdentityFile ~/.ssh/keys/encrypted",
      "Host nokey",
      `  Port ${target.port}`,
      "  IdentityFile ~/.ssh/none_here",
      "  IdentitiesOnly yes",
      "Host shadowed",
      "  Port 1",
      "",
    ].join("\n"),
  );
}

beforeAll(async () => {
  [jump1, jump2, target] = await Promise.all([startSshd({ allowTcpForwarding: true }), startSshd({ allowTcpForwarding: true }), startSshd()]);
  // One key for every hop, as an IdentityFile in Host * would be in real life.
  for (const jump of [jump1, jump2]) appendFileSync(join(jump.dir, "authorized_keys"), readFileSync(`${target.keyPath}.pub`));
  rt = testRuntime(target);
  writeConfig(rt.home);
});
afterAll(async () => {
  await rt?.dispose();
  await Promise.all([jump1, jump2, target].map((s) => s?.cleanup()));
});

/** sshd's per-connection processes: one more for every connection it serves. */
const connectionsTo = (sshd: TestSshd) =>
  promisify(execFile)("pgrep", ["-P", String(sshd.pid())]).then(
    (r) => r.stdout.trim().split("\n").filter(Boolean).length,
    () => 0,
  );

describe("hosts from ~/.ssh/config", () => {
  it("honours StrictHostKeyChecking yes and the host's own UserKnownHostsFile", async () => {
    // First, before any connection recorded jump1's key in ~/.ssh-mcp/known_hosts.
    await expect(rt.sessions.start("strict-unknown")).rejects.toThrow(UnknownHostKeyError);
    const { sessionId } = await rt.sessions.start("strict-known");
    expect((await rt.sessions.exec(sessionId, "echo known")).output).toBe("known\n");
    await rt.sessions.close(sessionId);
    expect(existsSync(join(rt.home, ".ssh-mcp", "known_hosts"))).toBe(false);
  });

  it("starts a session on an alias without add-host: Host * defaults, % tokens, the first IdentityFile that exists", async () => {
    const { sessionId, target: where } = await rt.sessions.start("direct");
    expect(where).toBe(`${target.user}@127.0.0.1:${target.port}`);
    expect((await rt.sessions.exec(sessionId, "cd /tmp; pwd")).output).toBe("/tmp\n");
    await rt.sessions.close(sessionId);
  });

  it("reaches a host through a two-hop ProxyJump chain (jump1, then jump2), each hop a real connection", async () => {
    const before = await Promise.all([connectionsTo(jump1), connectionsTo(jump2)]);
    const { sessionId } = await rt.sessions.start("target");
    expect((await rt.sessions.exec(sessionId, "echo hop")).output).toBe("hop\n");
    const during = await Promise.all([connectionsTo(jump1), connectionsTo(jump2)]);
    expect(during[0]).toBeGreaterThan(before[0]!);
    expect(during[1]).toBeGreaterThan(before[1]!);
    await rt.sessions.close(sessionId);
    const known = readFileSync(join(rt.home, ".ssh-mcp", "known_hosts"), "utf8");
    for (const sshd of [jump1, jump2, target]) expect(known).toContain(`[127.0.0.1]:${sshd.port} ssh-ed25519 `);
  });

  it("refuses an encrypted IdentityFile without SSH_MCP_KEY_PASSPHRASE, as for keyPath, and uses it with one", async () => {
    await expect(rt.sessions.start("encrypted")).rejects.toThrow(/encrypted\. Set SSH_MCP_KEY_PASSPHRASE/);
    const withPassphrase = testRuntime(target, { SSH_MCP_KEY_PASSPHRASE: target.passphrase });
    writeConfig(withPassphrase.home);
    try {
      const { sessionId } = await withPassphrase.sessions.start("encrypted");
      expect((await withPassphrase.sessions.exec(sessionId, "echo unlocked")).output).toBe("unlocked\n");
    } finally {
      await withPassphrase.dispose();
    }
  });

  it("falls back to ssh-agent when no IdentityFile exists, and says so when there is no agent either", async () => {
    await expect(rt.sessions.start("nokey")).rejects.toThrow(CredentialsError);
    await expect(rt.sessions.start("nokey")).rejects.toThrow(/no usable IdentityFile .*SSH_AUTH_SOCK is not set/);
    let agent: TestAgent | undefined;
    try {
      agent = await startAgent(rt.home, target.keyPath);
      const withAgent = testRuntime(target, { SSH_AUTH_SOCK: agent.socket });
      writeConfig(withAgent.home);
      try {
        const { sessionId } = await withAgent.sessions.start("nokey");
        expect((await withAgent.sessions.exec(sessionId, "echo agent")).output).toBe("agent\n");
      } finally {
        await withAgent.dispose();
      }
    } finally {
      agent?.stop();
    }
  });

  it("lets a saved host win over an alias with the same id", async () => {
    await rt.store.add(keyHostArgs(target, "shadowed"));
    const { sessionId } = await rt.sessions.start("shadowed"); // the alias has Port 1, which would be refused
    await rt.sessions.close(sessionId);
    const listing = await rt.hosts.list();
    expect(listing.hosts.filter((h) => h.host.host_id === "shadowed").map((h) => h.source)).toEqual(["hosts.json"]);
    await rt.store.remove("shadowed");
  });

  it("lists aliases marked as from ssh config, and refuses to edit or remove them, changing nothing", async () => {
    const listing = await rt.hosts.list();
    const fromConfig = listing.hosts.filter((h) => h.source === "ssh-config").map((h) => h.host.host_id);
    expect(fromConfig).toEqual(["jump1", "jump2", "target", "direct", "strict-known", "strict-unknown", "encrypted", "nokey", "shadowed"]);
    const config = readFileSync(join(rt.home, ".ssh", "config"), "utf8");
    await expect(rt.hosts.edit("direct", { port: 2 })).rejects.toThrow(SshConfigHostReadOnlyError);
    await expect(rt.hosts.remove("direct")).rejects.toThrow(/comes from .*\.ssh\/config, which belongs to you: ssh-mcp never writes it/);
    expect(readFileSync(join(rt.home, ".ssh", "config"), "utf8")).toBe(config);
  });

  it("names the aliases among the known hosts when an id is unknown", async () => {
    const error = await rt.sessions.start("nowhere").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostNotFoundError);
    expect((error as Error).message).toMatch(/Known hosts: .*jump1, jump2, target/);
  });

  it("ignores ssh config entirely with SSH_MCP_SSH_CONFIG=none", async () => {
    const none = testRuntime(target, { SSH_MCP_SSH_CONFIG: "none" });
    writeConfig(none.home);
    try {
      await expect(none.sessions.start("direct")).rejects.toThrow(HostNotFoundError);
      expect((await none.hosts.list()).hosts).toEqual([]);
    } finally {
      await none.dispose();
    }
  });
});
