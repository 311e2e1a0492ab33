import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprintSha256, keyTypeOf, normalizeFingerprint } from "../../src/ssh/host-key.js";
import { UnsafeHostNameError } from "../../src/ssh/host-key-errors.js";
import {
  entryMatches,
  formatKnownHostLine,
  knownHostName,
  parseKnownHosts,
  type KnownHostEntry,
} from "../../src/ssh/known-hosts.js";

const SSH_KEYGEN = "/usr/bin/ssh-keygen";

interface TestKey {
  pubPath: string;
  /** "<type> <base64>" as in the .pub file, without the comment. */
  pubLine: string;
  blob: Buffer;
}

let dir: string;
const keys: Record<"ed25519" | "ecdsa" | "rsa", TestKey> = {} as never;

async function makeKey(name: string, type: string, extra: string[] = []): Promise<TestKey> {
  const path = join(dir, name);
  execFileSync(SSH_KEYGEN, ["-q", "-t", type, ...extra, "-N", "", "-C", "test", "-f", path]);
  const [keyType, base64] = (await readFile(`${path}.pub`, "utf8")).trim().split(" ");
  return { pubPath: `${path}.pub`, pubLine: `${keyType} ${base64}`, blob: Buffer.from(base64!, "base64") };
}

/** The "SHA256:..." field of `ssh-keygen -lf`. */
function keygenFingerprint(pubPath: string): string {
  return execFileSync(SSH_KEYGEN, ["-l", "-E", "sha256", "-f", pubPath], { encoding: "utf8" }).split(" ")[1]!;
}

/** Whether `ssh-keygen -F name -f file` finds a line: OpenSSH's own matcher as the oracle. */
function keygenFinds(file: string, name: string): boolean {
  const result = spawnSync(SSH_KEYGEN, ["-F", name, "-f", file], { encoding: "utf8" });
  return result.status === 0 && result.stdout.includes("found");
}

function entry(hosts: string, key: TestKey = keys.ed25519): KnownHostEntry {
  const [parsed] = parseKnownHosts(`${hosts} ${key.pubLine}\n`, "inline");
  if (!parsed) throw new Error(`test line did not parse: ${hosts}`);
  return parsed;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ssh-mcp-known-hosts-"));
  keys.ed25519 = await makeKey("ed25519", "ed25519");
  keys.ecdsa = await makeKey("ecdsa", "ecdsa", ["-b", "256"]);
  keys.rsa = await makeKey("rsa", "rsa", ["-b", "2048"]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("fingerprintSha256", () => {
  it.each(["ed25519", "ecdsa", "rsa"] as const)("equals ssh-keygen -lf for an %s key", (name) => {
    const fingerprint = fingerprintSha256(keys[name].blob);
    expect(fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(fingerprint).toBe(keygenFingerprint(keys[name].pubPath));
  });
});

describe("keyTypeOf", () => {
  it("reads the type name from inside the blob", () => {
    expect(keyTypeOf(keys.ed25519.blob)).toBe("ssh-ed25519");
    expect(keyTypeOf(keys.ecdsa.blob)).toBe("ecdsa-sha2-nistp256");
    expect(keyTypeOf(keys.rsa.blob)).toBe("ssh-rsa");
  });

  it("throws on a blob too short for its length prefix", () => {
    expect(() => keyTypeOf(Buffer.from([0, 0, 0, 50, 0x73]))).toThrow(/Malformed/);
    expect(() => keyTypeOf(Buffer.alloc(2))).toThrow(/Malformed/);
  });
});

describe("normalizeFingerprint", () => {
  const canonical = () => fingerprintSha256(keys.ed25519.blob);

  it("accepts the canonical form unchanged", () => {
    expect(normalizeFingerprint(canonical())).toBe(canonical());
  });

  it("strips '=' padding and surrounding whitespace", () => {
    expect(normalizeFingerprint(`  ${canonical()}=\n`)).toBe(canonical());
  });

  it("rejects anything that is not a SHA256 fingerprint", () => {
    const body = canonical().slice("SHA256:".length);
    expect(normalizeFingerprint(body)).toBeNull();
    expect(normalizeFingerprint(`SHA256:${body.slice(1)}`)).toBeNull();
    expect(normalizeFingerprint(`SHA256:${body}A`)).toBeNull();
    expect(normalizeFingerprint(`SHA256:${body}==`)).toBeNull();
    expect(normalizeFingerprint(`SHA256:${body.slice(0, -1)}!`)).toBeNull();
    expect(normalizeFingerprint("MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48")).toBeNull();
    expect(normalizeFingerprint("")).toBeNull();
  });
});

describe("knownHostName", () => {
  it("uses the bare host for port 22 and [host]:port otherwise", () => {
    expect(knownHostName("example.com", 22)).toBe("example.com");
    expect(knownHostName("127.0.0.1", 2222)).toBe("[127.0.0.1]:2222");
    expect(knownHostName("::1", 2200)).toBe("[::1]:2200");
  });
});

describe("parseKnownHosts", () => {
  it("keeps file, 1-based line, marker, host field, type and decoded key", () => {
    const text = [
      "# a comment",
      "",
      `web,10.0.0.1 ${keys.ed25519.pubLine} a comment here`,
      `  @revoked * ${keys.rsa.pubLine}`,
      `@cert-authority *.example.com ${keys.ecdsa.pubLine}`,
    ].join("\n");
    const entries = parseKnownHosts(text, "/tmp/kh");
    expect(entries).toEqual([
      { file: "/tmp/kh", line: 3, hosts: "web,10.0.0.1", keyType: "ssh-ed25519", key: keys.ed25519.blob },
      { file: "/tmp/kh", line: 4, marker: "@revoked", hosts: "*", keyType: "ssh-rsa", key: keys.rsa.blob },
      {
        file: "/tmp/kh",
        line: 5,
        marker: "@cert-authority",
        hosts: "*.example.com",
        keyType: "ecdsa-sha2-nistp256",
        key: keys.ecdsa.blob,
      },
    ]);
  });

  it("skips malformed lines without throwing and keeps counting lines", () => {
    const [, base64] = keys.ed25519.pubLine.split(" ");
    const text = [
      "onlyhost",
      "host ssh-ed25519",
      "host ssh-ed25519 not*base64",
      `host ssh-rsa ${base64}`, // type on the line disagrees with the blob
      "host ssh-ed25519 AAAA", // decodes to a blob too short to name a type
      `@bogus host ${keys.ed25519.pubLine}`,
      `@revoked ${keys.ed25519.pubLine}`, // marker without a host field
      "host 2048 65537 1234567", // SSH-1 RSA line
      `good ${keys.ed25519.pubLine}`,
    ].join("\r\n");
    const entries = parseKnownHosts(text, "f");
    expect(entries.map((e) => [e.hosts, e.line])).toEqual([["good", 9]]);
  });

  it("returns nothing for empty text", () => {
    expect(parseKnownHosts("", "f")).toEqual([]);
    expect(parseKnownHosts("\n\n# only comments\n", "f")).toEqual([]);
  });
});

describe("entryMatches", () => {
  it("matches a plain host only on port 22", () => {
    expect(entryMatches(entry("web.example.com"), "web.example.com", 22)).toBe(true);
    expect(entryMatches(entry("web.example.com"), "web.example.com", 2222)).toBe(false);
    expect(entryMatches(entry("web.example.com"), "db.example.com", 22)).toBe(false);
  });

  it("matches [host]:port only on that port", () => {
    expect(entryMatches(entry("[127.0.0.1]:2222"), "127.0.0.1", 2222)).toBe(true);
    expect(entryMatches(entry("[127.0.0.1]:2222"), "127.0.0.1", 22)).toBe(false);
    expect(entryMatches(entry("[127.0.0.1]:2222"), "127.0.0.1", 2223)).toBe(false);
    // OpenSSH writes port 22 as the bare host, so a bracketed :22 line never matches.
    expect(entryMatches(entry("[127.0.0.1]:22"), "127.0.0.1", 22)).toBe(false);
  });

  it("matches any name in a comma-separated list", () => {
    const e = entry("web,10.0.0.1,[10.0.0.1]:2222");
    expect(entryMatches(e, "web", 22)).toBe(true);
    expect(entryMatches(e, "10.0.0.1", 22)).toBe(true);
    expect(entryMatches(e, "10.0.0.1", 2222)).toBe(true);
    expect(entryMatches(e, "web", 2222)).toBe(false);
  });

  it("supports * and ? wildcards, including inside [host]:port", () => {
    expect(entryMatches(entry("*.example.com"), "a.b.example.com", 22)).toBe(true);
    expect(entryMatches(entry("*.example.com"), "example.com", 22)).toBe(false);
    expect(entryMatches(entry("web?"), "web1", 22)).toBe(true);
    expect(entryMatches(entry("web?"), "web12", 22)).toBe(false);
    expect(entryMatches(entry("[10.0.0.*]:2222"), "10.0.0.7", 2222)).toBe(true);
    expect(entryMatches(entry("[10.0.0.*]:2222"), "10.0.0.7", 22)).toBe(false);
    expect(entryMatches(entry("*"), "anything", 2222)).toBe(true);
  });

  it("lets a negated pattern exclude the entry even when another pattern matches", () => {
    const e = entry("*.example.com,!bad.example.com");
    expect(entryMatches(e, "good.example.com", 22)).toBe(true);
    expect(entryMatches(e, "bad.example.com", 22)).toBe(false);
    // A negation alone never makes a positive match.
    expect(entryMatches(entry("!bad.example.com"), "good.example.com", 22)).toBe(false);
  });

  it("compares host names case-insensitively", () => {
    expect(entryMatches(entry("Web.Example.COM"), "web.example.com", 22)).toBe(true);
    expect(entryMatches(entry("web.example.com"), "WEB.example.com", 22)).toBe(true);
    expect(entryMatches(entry("*.example.com,!BAD.example.com"), "bad.EXAMPLE.com", 22)).toBe(false);
  });

  it("matches entries hashed by ssh-keygen -H for host and [host]:2222", async () => {
    const file = join(dir, "hashed_known_hosts");
    await writeFile(file, `web.example.com ${keys.ed25519.pubLine}\n[10.1.2.3]:2222 ${keys.rsa.pubLine}\n`);
    execFileSync(SSH_KEYGEN, ["-H", "-f", file], { stdio: "ignore" });
    const entries = parseKnownHosts(await readFile(file, "utf8"), file);
    expect(entries).toHaveLength(2);
    const [plain, bracketed] = entries as [KnownHostEntry, KnownHostEntry];
    expect(plain.hosts).toMatch(/^\|1\|[^|]+\|[^|]+$/);
    expect(bracketed.hosts).toMatch(/^\|1\|/);

    expect(entryMatches(plain, "web.example.com", 22)).toBe(true);
    expect(entryMatches(plain, "WEB.example.com", 22)).toBe(true);
    expect(entryMatches(plain, "web.example.com", 2222)).toBe(false);
    expect(entryMatches(plain, "db.example.com", 22)).toBe(false);
    expect(entryMatches(bracketed, "10.1.2.3", 2222)).toBe(true);
    expect(entryMatches(bracketed, "10.1.2.3", 22)).toBe(false);
    expect(entryMatches(bracketed, "10.1.2.4", 2222)).toBe(false);
  });

  it("rejects a corrupted hash", async () => {
    const file = join(dir, "hashed_corrupt");
    await writeFile(file, `web ${keys.ed25519.pubLine}\n`);
    execFileSync(SSH_KEYGEN, ["-H", "-f", file], { stdio: "ignore" });
    const [hashed] = parseKnownHosts(await readFile(file, "utf8"), file) as [KnownHostEntry];
    const hash = hashed.hosts.split("|")[3]!;
    const flipped = (hash[0] === "A" ? "B" : "A") + hash.slice(1);
    const corrupt = { ...hashed, hosts: hashed.hosts.replace(hash, flipped) };
    expect(entryMatches(hashed, "web", 22)).toBe(true);
    expect(entryMatches(corrupt, "web", 22)).toBe(false);
  });

  it("agrees with ssh-keygen -F on a table of patterns", async () => {
    const cases: Array<[string, string, number]> = [
      ["web", "web", 22],
      ["web", "web", 2222],
      ["[web]:2222", "web", 2222],
      ["[web]:2222", "web", 22],
      ["[web]:22", "web", 22],
      ["*.example.com", "a.example.com", 22],
      ["*.example.com", "a.example.com", 2222],
      ["[*.example.com]:*", "a.example.com", 2222],
      ["h?st", "host", 22],
      ["h?st", "hoost", 22],
      ["*,!10.0.0.1", "10.0.0.1", 22],
      ["*,!10.0.0.1", "10.0.0.2", 22],
      ["!10.0.0.1,*", "10.0.0.1", 22],
      ["10.0.0.*,![10.0.0.5]:2222", "10.0.0.5", 22],
    ];
    for (const [pattern, host, port] of cases) {
      const file = join(dir, "oracle_known_hosts");
      await writeFile(file, `${pattern} ${keys.ed25519.pubLine}\n`);
      const ours = entryMatches(entry(pattern), host, port);
      expect({ pattern, host, port, match: ours }).toEqual({
        pattern,
        host,
        port,
        match: keygenFinds(file, knownHostName(host, port)),
      });
    }
  });
});

describe("formatKnownHostLine", () => {
  it("writes name, type and base64 in OpenSSH's layout", () => {
    expect(formatKnownHostLine("127.0.0.1", 2222, keys.ed25519.blob)).toBe(`[127.0.0.1]:2222 ${keys.ed25519.pubLine}`);
    expect(formatKnownHostLine("web", 22, keys.rsa.blob)).toBe(`web ${keys.rsa.pubLine}`);
  });

  it("round-trips through parseKnownHosts and is found by ssh-keygen -F", async () => {
    const file = join(dir, "formatted_known_hosts");
    await writeFile(file, formatKnownHostLine("127.0.0.1", 2222, keys.ecdsa.blob) + "\n");
    const [parsed] = parseKnownHosts(await readFile(file, "utf8"), file) as [KnownHostEntry];
    expect(parsed.key.equals(keys.ecdsa.blob)).toBe(true);
    expect(entryMatches(parsed, "127.0.0.1", 2222)).toBe(true);
    expect(keygenFinds(file, "[127.0.0.1]:2222")).toBe(true);
    expect(keygenFinds(file, "127.0.0.1")).toBe(false);
  });

  it.each([
    ["*", 22],
    ["*.example.com", 22],
    ["web?", 2222],
    ["web,db", 22],
    ["!web", 22],
    ["|1|c2FsdA==|aGFzaA==", 22],
    ["@revoked", 22],
    ["@cert-authority *", 22],
    ["[web]:2222", 22],
    ["web\n* ssh-ed25519 AAAA", 22],
    ["", 22],
    ["web", 0],
    ["web", 70000],
  ] as const)("refuses to write %j (port %i): only a literal host name ever goes in", (host, port) => {
    expect(() => formatKnownHostLine(host, port, keys.ed25519.blob)).toThrow(UnsafeHostNameError);
  });

  it("writes IPv6 addresses and underscores as OpenSSH does, found by ssh-keygen -F", async () => {
    const file = join(dir, "ipv6_known_hosts");
    await writeFile(file, [formatKnownHostLine("2001:db8::1", 22, keys.ed25519.blob), formatKnownHostLine("::1", 2200, keys.rsa.blob), formatKnownHostLine("my_host", 22, keys.ecdsa.blob)].join("\n") + "\n");
    expect(keygenFinds(file, "2001:db8::1")).toBe(true);
    expect(keygenFinds(file, "[::1]:2200")).toBe(true);
    expect(keygenFinds(file, "my_host")).toBe(true);
  });
});
