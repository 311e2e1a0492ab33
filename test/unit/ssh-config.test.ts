import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SshConfigError, SshConfigFile, type SshConfigSettings } from "../../src/hosts/ssh-config.js";
import { parseProxyJump, resolveSshConfigHost } from "../../src/hosts/ssh-config-host.js";

// ssh -G resolves ~, %d and relative Includes from the passwd entry, not $HOME: so the comparison
// runs ssh as a throwaway user whose home is a temp dir holding the config.
let home: string;
let user: string;
let configFile: string;

const CONFIG = `# defaults before any Host apply to every host
ConnectTimeout 9
Include conf.d/*.conf

Host web web-alias
  HostName Web.Example.COM
  User deploy
  Port 2222
  IdentityFile ~/.ssh/id_%h_%r
  IdentityFile %d/keys/%u-%%
  ProxyJump bastion
  ForwardX11 yes

Host bastion
  HostName 10.0.0.1
  User jump
  IdentitiesOnly yes
  ServerAliveInterval 15

Host db
  ProxyJump ops@bastion:2200,inner
  UserKnownHostsFile ~/.ssh/known_db %d/kh_%h
  StrictHostKeyChecking accept-new

Host nojump
  ProxyJump none
  StrictHostKeyChecking yes
  UserKnownHostsFile none

Match host nothing.invalid
  User matched

Host *.internal !skip.internal
  User internal
  Compression yes

Host *
  User fallback
  Port 2200
  ServerAliveCountMax 5
  IdentitiesOnly no
`;

const FIELDS = [
  "hostname",
  "user",
  "port",
  "identityfile",
  "identitiesonly",
  "proxyjump",
  "connecttimeout",
  "serveraliveinterval",
  "serveralivecountmax",
  "userknownhostsfile",
  "stricthostkeychecking",
] as const;

/** ssh -G's lines for the fields we honour: field -> values in order. */
function sshG(alias: string): Record<string, string[]> {
  const out = execFileSync("runuser", ["-u", user, "--", "ssh", "-G", "-F", configFile, alias], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const fields: Record<string, string[]> = {};
  for (const line of out.split("\n")) {
    const [key, ...rest] = line.split(" ");
    const name = key!.toLowerCase();
    if ((FIELDS as readonly string[]).includes(name)) (fields[name] ??= []).push(rest.join(" "));
  }
  return fields;
}

/** Our settings in ssh -G's words. */
function asSshG(s: SshConfigSettings): Record<string, string[]> {
  const strict = { yes: "true", no: "false", "accept-new": "accept-new", ask: "ask" }[s.strictHostKeyChecking ?? "ask"];
  return {
    hostname: [s.hostname],
    user: [s.user],
    port: [String(s.port)],
    identityfile: s.identityFiles,
    identitiesonly: [s.identitiesOnly ? "yes" : "no"],
    ...(s.proxyJump !== undefined && { proxyjump: [s.proxyJump] }),
    connecttimeout: [s.connectTimeout === undefined ? "none" : String(s.connectTimeout)],
    serveraliveinterval: [String(s.serverAliveInterval)],
    serveralivecountmax: [String(s.serverAliveCountMax)],
    userknownhostsfile: [s.userKnownHostsFiles.length ? s.userKnownHostsFiles.join(" ") : "none"],
    stricthostkeychecking: [strict],
  };
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "ssh-mcp-sshconfig-"));
  chmodSync(home, 0o755);
  user = `smcpcfg${randomBytes(3).toString("hex")}`;
  execFileSync("useradd", ["-M", "-d", home, "-s", "/bin/sh", user], { stdio: "ignore" });
  mkdirSync(join(home, ".ssh", "conf.d"), { recursive: true, mode: 0o755 });
  configFile = join(home, ".ssh", "config");
  writeFileSync(configFile, CONFIG, { mode: 0o644 });
  // Included before the main file's Host blocks, so its Port for web wins (first value obtained).
  writeFileSync(join(home, ".ssh", "conf.d", "10-inner.conf"), "Host inner\n  HostName inner.example\n  Port 2022\n  StrictHostKeyChecking no\n");
  writeFileSync(join(home, ".ssh", "conf.d", "20-web.conf"), "Host web\n  Port 9999\n");
  writeFileSync(join(home, ".ssh", "conf.d", "ignored.txt"), "Host never-included\n");
});
afterAll(() => {
  try {
    execFileSync("userdel", ["-f", user], { stdio: "ignore" });
  } catch {
    // already gone
  }
  rmSync(home, { recursive: true, force: true });
});

const load = () => SshConfigFile.load(configFile, { homeDir: home, localUser: user });

describe("ssh config resolution", () => {
  it.each(["web", "web-alias", "bastion", "db", "inner", "nojump", "foo.internal", "skip.internal", "plain.example"])(
    "resolves %s exactly as ssh -G -F does",
    async (alias) => {
      const config = await load();
      expect(asSshG(config.resolve(alias))).toEqual(sshG(alias));
    },
  );

  it("lists the concrete aliases of the file and of the files it includes, never patterns", async () => {
    expect((await load()).aliases().sort()).toEqual(["bastion", "db", "inner", "nojump", "web", "web-alias"].sort());
  });

  it("names Match blocks and unsupported options that applied, and ignores them", async () => {
    const config = await load();
    expect(config.resolve("web").ignored).toEqual(expect.arrayContaining(["Match", "ForwardX11"]));
    expect(config.resolve("foo.internal").ignored).toContain("Compression");
    expect(config.resolve("bastion").ignored).not.toContain("ForwardX11");
  });

  it("expands ~ and the %d %u %h %r %% tokens of IdentityFile", async () => {
    const { host } = resolveSshConfigHost(await load(), "web");
    expect(host.identityFiles).toEqual([join(home, ".ssh", "id_web.example.com_deploy"), join(home, "keys", `${user}-%`)]);
  });

  it("resolves a two-hop ProxyJump chain: the last hop goes through the first, each with its own settings", async () => {
    const { host } = resolveSshConfigHost(await load(), "db");
    expect(host).toMatchObject({ host: "db", port: 2200, username: "fallback", strictHostKeys: "accept-new" });
    expect(host.knownHostsFiles).toEqual([join(home, ".ssh", "known_db"), join(home, "kh_db")]);
    const inner = host.via!;
    expect(inner).toMatchObject({ host_id: "inner", host: "inner.example", port: 2022, strictHostKeys: "accept-new" });
    const bastion = inner.via!;
    // user@host:port in the spec win over the alias's own User and Port.
    expect(bastion).toMatchObject({ host_id: "ops@bastion:2200", host: "10.0.0.1", port: 2200, username: "ops", identitiesOnly: true });
    expect(bastion.keepaliveIntervalMs).toBe(15_000);
    expect(bastion.via).toBeUndefined();
  });

  it("parses ProxyJump hops: aliases, user@host:port, IPv6 in brackets, ssh:// URIs", () => {
    expect(parseProxyJump("a,u@h:2222,[::1]:22,ssh://x@y", "f")).toEqual([
      { host: "a" },
      { user: "u", host: "h", port: 2222 },
      { host: "::1", port: 22 },
      { user: "x", host: "y" },
    ]);
    expect(() => parseProxyJump("h:99999", "f")).toThrow(SshConfigError);
  });

  it("refuses a ProxyJump loop with a clear error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ssh-mcp-loop-"));
    const file = join(dir, "config");
    writeFileSync(file, "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n");
    const config = await SshConfigFile.load(file, { homeDir: dir, localUser: "u" });
    expect(() => resolveSshConfigHost(config, "a")).toThrow(/ProxyJump chain a -> b -> a .*loops/);
    rmSync(dir, { recursive: true, force: true });
  });

  it("treats a missing file as an empty config, and refuses one that other users can write", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ssh-mcp-missing-"));
    expect((await SshConfigFile.load(join(dir, "nope"), { homeDir: dir, localUser: "u" })).aliases()).toEqual([]);
    const file = join(dir, "config");
    writeFileSync(file, "Host a\n");
    chmodSync(file, 0o666);
    await expect(SshConfigFile.load(file, { homeDir: dir, localUser: "u" })).rejects.toThrow(/writable by other users/);
    rmSync(dir, { recursive: true, force: true });
  });
});
