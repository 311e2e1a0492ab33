import { execFileSync, spawnSync } from "node:child_process";
import { appendFile, chmod, chown, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  HostKeyMismatchError,
  HostKeyPinMismatchError,
  RevokedHostKeyError,
  UnknownHostKeyError,
  UnsafeHostNameError,
} from "../../src/ssh/host-key-errors.js";
import { HostKeyTrust, type HostKeyTrustOptions, type HostKeyVerdict, type StrictHostKeyChecking } from "../../src/ssh/host-key-trust.js";
import { withFileLock } from "../../src/hosts/file-lock.js";
import { HostStoreLockError, UnsafePathError } from "../../src/hosts/host-errors.js";

const SSH_KEYGEN = "/usr/bin/ssh-keygen";

interface TestKey {
  /** "<type> <base64>" as in the .pub file, without the comment. */
  pubLine: string;
  blob: Buffer;
  fingerprint: string;
}

let keyDir: string;
let ed25519: TestKey;
let ed25519Other: TestKey;
let ecdsa: TestKey;
let rsa: TestKey;

async function makeKey(name: string, type: string, extra: string[] = []): Promise<TestKey> {
  const path = join(keyDir, name);
  execFileSync(SSH_KEYGEN, ["-q", "-t", type, ...extra, "-N", "", "-C", "test", "-f", path]);
  const [keyType, base64] = (await readFile(`${path}.pub`, "utf8")).trim().split(" ");
  const fingerprint = execFileSync(SSH_KEYGEN, ["-l", "-E", "sha256", "-f", `${path}.pub`], { encoding: "utf8" });
  return { pubLine: `${keyType} ${base64}`, blob: Buffer.from(base64!, "base64"), fingerprint: fingerprint.split(" ")[1]! };
}

beforeAll(async () => {
  keyDir = await mkdtemp(join(tmpdir(), "ssh-mcp-trust-keys-"));
  [ed25519, ed25519Other, ecdsa, rsa] = await Promise.all([
    makeKey("ed25519", "ed25519"),
    makeKey("ed25519-other", "ed25519"),
    makeKey("ecdsa", "ecdsa", ["-b", "256"]),
    makeKey("rsa", "rsa", ["-b", "2048"]),
  ]);
});

afterAll(async () => {
  await rm(keyDir, { recursive: true, force: true });
});

let dir: string;
let ours: string;
let users: string;
let warnings: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ssh-mcp-trust-"));
  ours = join(dir, "ssh-mcp_known_hosts");
  users = join(dir, "user_known_hosts");
  warnings = [];
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function trust(policy: StrictHostKeyChecking, extra: Partial<HostKeyTrustOptions> = {}): HostKeyTrust {
  return new HostKeyTrust({
    knownHostsFile: ours,
    userKnownHostsFiles: [users],
    policy,
    warn: (message) => warnings.push(message),
    ...extra,
  });
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("expected a rejection"),
    (error: unknown) => error,
  );
}

/**
 * Race two first connections offering different keys for each of several new hosts, through `verify`, and
 * check that per host exactly one key was recorded (once) and the other refused, citing the line recorded.
 * Which call records first depends on which finishes reading the files first, not on call order, so either
 * may win; many hosts at once give a race in the product many chances to show.
 */
async function expectOneKeyPerHost(verify: (host: string, key: TestKey) => Promise<HostKeyVerdict>): Promise<void> {
  const hosts = Array.from({ length: 10 }, (_, i) => `web${i}`);
  const races = await Promise.all(
    hosts.map(async (host, i) => {
      // Alternate the call order too, so that neither key is always asked about first.
      const keys: [TestKey, TestKey] = i % 2 === 0 ? [ed25519, ed25519Other] : [ed25519Other, ed25519];
      const results = await Promise.allSettled([verify(host, keys[0]), verify(host, keys[1])]);
      return { host, keys, results };
    }),
  );
  const lines = (await readFile(ours, "utf8")).split("\n");
  const winners: string[] = [];
  for (const { host, keys, results } of races) {
    expect(results.map((r) => r.status).sort(), host).toEqual(["fulfilled", "rejected"]);
    const won = results[0].status === "fulfilled" ? 0 : 1;
    expect((results[won] as PromiseFulfilledResult<HostKeyVerdict>).value, host).toEqual({ accepted: true, recorded: true });
    const error = (results[1 - won] as PromiseRejectedResult).reason as HostKeyMismatchError;
    expect(error, host).toBeInstanceOf(HostKeyMismatchError);
    expect(error, host).toMatchObject({ host, fingerprint: keys[1 - won]!.fingerprint, file: ours });
    expect(lines[error.line - 1], host).toBe(`${host} ${keys[won]!.pubLine}`);
    winners.push(`${host} ${keys[won]!.pubLine}`);
  }
  // One line per host, nothing else: the refused keys were never written, the winners only once.
  expect(lines.filter(Boolean).sort()).toEqual(winners.sort());
}

describe("HostKeyTrust with a pin", () => {
  it("accepts the pinned key with or without '=' padding and writes nothing", async () => {
    const t = trust("accept-new");
    await expect(t.verify("web", 22, ed25519.blob, ed25519.fingerprint)).resolves.toEqual({ accepted: true, recorded: false });
    await expect(t.verify("web", 22, ed25519.blob, ` ${ed25519.fingerprint}= `)).resolves.toEqual({
      accepted: true,
      recorded: false,
    });
    expect(await exists(ours)).toBe(false);
  });

  it("rejects another key with the expected and offered fingerprints", async () => {
    const error = await rejection(trust("no").verify("127.0.0.1", 2222, ed25519Other.blob, `${ed25519.fingerprint}=`));
    expect(error).toBeInstanceOf(HostKeyPinMismatchError);
    const e = error as HostKeyPinMismatchError;
    expect(e).toMatchObject({ host: "127.0.0.1", port: 2222, expected: ed25519.fingerprint, fingerprint: ed25519Other.fingerprint });
    expect(e.name).toBe("HostKeyPinMismatchError");
    expect(e.message).toContain("[127.0.0.1]:2222");
    expect(e.message).toContain(`ssh-ed25519 ${ed25519Other.fingerprint}`);
    expect(e.message).toContain("edit-host hostKey=");
    expect(await exists(ours)).toBe(false);
  });

  it("overrides a known_hosts line that records a different key", async () => {
    await writeFile(ours, `web ${ed25519Other.pubLine}\n`);
    await expect(trust("yes").verify("web", 22, ed25519.blob, ed25519.fingerprint)).resolves.toEqual({
      accepted: true,
      recorded: false,
    });
  });

  it("rejects an unparseable pin rather than ignoring it", async () => {
    await writeFile(ours, `web ${ed25519.pubLine}\n`);
    await expect(trust("accept-new").verify("web", 22, ed25519.blob, "SHA256:nope")).rejects.toBeInstanceOf(
      HostKeyPinMismatchError,
    );
  });
});

describe("HostKeyTrust with policy 'no'", () => {
  it("accepts an unknown host and a changed key without writing", async () => {
    await writeFile(users, `web ${ed25519Other.pubLine}\n`);
    const t = trust("no");
    await expect(t.verify("web", 22, ed25519.blob)).resolves.toEqual({ accepted: true, recorded: false });
    await expect(t.verify("new", 22, ed25519.blob)).resolves.toEqual({ accepted: true, recorded: false });
    expect(await exists(ours)).toBe(false);
  });
});

describe("HostKeyTrust with a recorded key", () => {
  it("accepts a key recorded in our file", async () => {
    await writeFile(ours, `[127.0.0.1]:2222 ${ed25519.pubLine}\n`);
    await expect(trust("yes").verify("127.0.0.1", 2222, ed25519.blob)).resolves.toEqual({ accepted: true, recorded: false });
  });

  it("accepts a key recorded only in the user's file, hashed by ssh-keygen -H", async () => {
    await writeFile(users, `web.example.com ${ecdsa.pubLine}\n[web.example.com]:2222 ${rsa.pubLine}\n`);
    execFileSync(SSH_KEYGEN, ["-H", "-f", users], { stdio: "ignore" });
    const t = trust("yes");
    await expect(t.verify("web.example.com", 22, ecdsa.blob)).resolves.toEqual({ accepted: true, recorded: false });
    await expect(t.verify("web.example.com", 2222, rsa.blob)).resolves.toEqual({ accepted: true, recorded: false });
  });

  it("accepts when one file records the key even if another line has a different one of that type", async () => {
    await writeFile(ours, `web ${ed25519Other.pubLine}\n`);
    await writeFile(users, `web ${ed25519.pubLine}\n`);
    await expect(trust("yes").verify("web", 22, ed25519.blob)).resolves.toEqual({ accepted: true, recorded: false });
  });

  it("skips malformed lines and still finds the valid one", async () => {
    await writeFile(ours, `garbage\nweb ssh-ed25519 !!!\n@weird web ${ed25519Other.pubLine}\nweb ${ed25519.pubLine}\n`);
    await expect(trust("yes").verify("web", 22, ed25519.blob)).resolves.toEqual({ accepted: true, recorded: false });
  });

  it("does not apply a port-22 line to another port", async () => {
    await writeFile(ours, `127.0.0.1 ${ed25519Other.pubLine}\n`);
    await expect(trust("yes").verify("127.0.0.1", 2222, ed25519.blob)).rejects.toBeInstanceOf(UnknownHostKeyError);
  });

  it("re-reads the files on every call", async () => {
    const t = trust("yes");
    await expect(t.verify("web", 22, ed25519.blob)).rejects.toBeInstanceOf(UnknownHostKeyError);
    await writeFile(users, `web ${ed25519.pubLine}\n`);
    await expect(t.verify("web", 22, ed25519.blob)).resolves.toEqual({ accepted: true, recorded: false });
    await writeFile(users, `web ${ed25519Other.pubLine}\n`);
    await expect(t.verify("web", 22, ed25519.blob)).rejects.toBeInstanceOf(HostKeyMismatchError);
  });
});

describe("HostKeyTrust with a changed key", () => {
  it("rejects with the file and line of the first recorded key of that type", async () => {
    await writeFile(ours, `# header\nother ${ed25519.pubLine}\n[127.0.0.1]:2222 ${rsa.pubLine}\n[127.0.0.1]:2222 ${ed25519Other.pubLine}\n`);
    await writeFile(users, `[127.0.0.1]:2222 ${ed25519Other.pubLine}\n`);
    const error = await rejection(trust("accept-new").verify("127.0.0.1", 2222, ed25519.blob));
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    const e = error as HostKeyMismatchError;
    expect(e).toMatchObject({ host: "127.0.0.1", port: 2222, fingerprint: ed25519.fingerprint, file: ours, line: 4 });
    expect(e.message).toContain(`Host key for [127.0.0.1]:2222 has changed`);
    expect(e.message).toContain(`ssh-ed25519 ${ed25519.fingerprint}`);
    expect(e.message).toContain(`${ours}:4`);
    expect(e.message).toContain(`ssh-keygen -R '[127.0.0.1]:2222' -f ${ours}`);
    expect(e.message).toContain(`edit-host hostKey="${ed25519.fingerprint}"`);
    expect(warnings).toEqual([]);
  });

  it("cites the user's file when that is where the key is recorded, and leaves it alone", async () => {
    await writeFile(users, `\n\nweb ${ed25519Other.pubLine}\n`);
    const before = await stat(users);
    const e = (await rejection(trust("accept-new").verify("web", 22, ed25519.blob))) as HostKeyMismatchError;
    expect(e).toMatchObject({ file: users, line: 3 });
    expect((await stat(users)).mtimeMs).toBe(before.mtimeMs);
    expect(await exists(ours)).toBe(false);
  });

  it("treats a key of a type not offered as a change, naming both types", async () => {
    await writeFile(ours, `web ${ecdsa.pubLine}\n`);
    const e = (await rejection(trust("accept-new").verify("web", 22, ed25519.blob))) as HostKeyMismatchError;
    expect(e).toBeInstanceOf(HostKeyMismatchError);
    expect(e).toMatchObject({ file: ours, line: 1, fingerprint: ed25519.fingerprint, recordedKeyType: "ecdsa-sha2-nistp256" });
    expect(e.message).toContain(`the server offered ssh-ed25519 ${ed25519.fingerprint} but ${ours}:1 records a ecdsa-sha2-nistp256 key`);
    expect((await readFile(ours, "utf8")).split("\n").filter(Boolean)).toHaveLength(1);
  });
});

describe("HostKeyTrust with revoked keys", () => {
  it("rejects a key marked @revoked even if it is also recorded as trusted", async () => {
    await writeFile(ours, `web ${ed25519.pubLine}\n`);
    await writeFile(users, `# revoked everywhere\n@revoked * ${ed25519.pubLine}\n`);
    const e = (await rejection(trust("accept-new").verify("web", 22, ed25519.blob))) as RevokedHostKeyError;
    expect(e).toBeInstanceOf(RevokedHostKeyError);
    expect(e).toMatchObject({ host: "web", port: 22, fingerprint: ed25519.fingerprint, file: users, line: 2 });
    expect(e.message).toContain("revoked");
    expect(e.message).toContain(ed25519.fingerprint);
  });

  it.each<[string, StrictHostKeyChecking, string | undefined]>([
    ["a pin of that very key", "accept-new", "pin"],
    ["policy 'no'", "no", undefined],
    ["policy 'no' and a pin", "no", "pin"],
  ])("rejects a revoked key even with %s: @revoked always wins, as in OpenSSH", async (_name, policy, pin) => {
    await writeFile(ours, `@revoked web ${ed25519.pubLine}\n`);
    const e = (await rejection(trust(policy).verify("web", 22, ed25519.blob, pin && ed25519.fingerprint))) as RevokedHostKeyError;
    expect(e).toBeInstanceOf(RevokedHostKeyError);
    expect(e).toMatchObject({ file: ours, line: 1, fingerprint: ed25519.fingerprint });
  });

  it("rejects a key revoked in the user's file, hashed, under a pin", async () => {
    await writeFile(users, `web ${ed25519.pubLine}\n`);
    execFileSync(SSH_KEYGEN, ["-H", "-f", users], { stdio: "ignore" });
    await appendFile(users, `@revoked * ${ed25519.pubLine}\n`);
    await expect(trust("accept-new").verify("web", 22, ed25519.blob, ed25519.fingerprint)).rejects.toBeInstanceOf(
      RevokedHostKeyError,
    );
  });

  it("ignores a revocation of another key or for another host", async () => {
    await writeFile(ours, `web ${ed25519.pubLine}\n@revoked web ${ed25519Other.pubLine}\n@revoked db ${ed25519.pubLine}\n`);
    await expect(trust("yes").verify("web", 22, ed25519.blob)).resolves.toEqual({ accepted: true, recorded: false });
  });

  it("ignores @cert-authority lines", async () => {
    await writeFile(ours, `@cert-authority * ${ed25519Other.pubLine}\n`);
    await expect(trust("yes").verify("web", 22, ed25519.blob)).rejects.toBeInstanceOf(UnknownHostKeyError);
  });
});

describe("HostKeyTrust with policy 'yes'", () => {
  it("refuses an unknown host with its fingerprint and writes nothing", async () => {
    await writeFile(users, `other ${ed25519.pubLine}\n`);
    const e = (await rejection(trust("yes").verify("127.0.0.1", 2222, ed25519.blob))) as UnknownHostKeyError;
    expect(e).toBeInstanceOf(UnknownHostKeyError);
    expect(e).toMatchObject({ host: "127.0.0.1", port: 2222, fingerprint: ed25519.fingerprint });
    expect(e.message).toContain("Host [127.0.0.1]:2222 is not known");
    expect(e.message).toContain(`ssh-ed25519 ${ed25519.fingerprint}`);
    expect(e.message).toContain("SSH_MCP_STRICT_HOST_KEYS=accept-new");
    expect(await exists(ours)).toBe(false);
  });
});

describe("HostKeyTrust with policy 'accept-new'", () => {
  it("records an unknown host once with mode 0600, warns, then accepts it", async () => {
    const t = trust("accept-new");
    await expect(t.verify("127.0.0.1", 2222, ed25519.blob)).resolves.toEqual({ accepted: true, recorded: true });
    expect(await readFile(ours, "utf8")).toBe(`[127.0.0.1]:2222 ${ed25519.pubLine}\n`);
    expect((await stat(ours)).mode & 0o777).toBe(0o600);
    expect(warnings).toEqual([
      `Permanently added '[127.0.0.1]:2222' (ssh-ed25519) to the list of known hosts (${ours}).`,
    ]);
    // OpenSSH's own lookup finds what we wrote.
    const found = spawnSync(SSH_KEYGEN, ["-F", "[127.0.0.1]:2222", "-f", ours], { encoding: "utf8" });
    expect(found.status).toBe(0);

    await expect(t.verify("127.0.0.1", 2222, ed25519.blob)).resolves.toEqual({ accepted: true, recorded: false });
    await expect(t.verify("127.0.0.1", 2222, ed25519Other.blob)).rejects.toBeInstanceOf(HostKeyMismatchError);
    expect(warnings).toHaveLength(1);
  });

  it("appends exactly one line for 10 concurrent first connections", async () => {
    const t = trust("accept-new");
    const verdicts = await Promise.all(Array.from({ length: 10 }, () => t.verify("web", 2222, rsa.blob)));
    expect(verdicts.filter((v) => v.recorded)).toHaveLength(1);
    expect(verdicts.every((v) => v.accepted)).toBe(true);
    expect(await readFile(ours, "utf8")).toBe(`[web]:2222 ${rsa.pubLine}\n`);
    expect(warnings).toHaveLength(1);
  });

  it("trusts exactly one of two keys offered by concurrent first connections: the one recorded first", async () => {
    const t = trust("accept-new");
    await expectOneKeyPerHost((host, key) => t.verify(host, 22, key.blob));
  });

  it("trusts exactly one key per host when two processes race their first connections to it", async () => {
    // Two HostKeyTrust on one file share no memory, as two ssh-mcp servers (two MCP clients) on one data dir.
    const [first, second] = [trust("accept-new"), trust("accept-new")];
    await expectOneKeyPerHost((host, key) => (key === ed25519 ? first : second).verify(host, 22, key.blob));
  });

  it("appends nothing while another process holds the known_hosts lock, and names the holder", async () => {
    const error = await withFileLock(ours, { timeoutMs: 5_000, staleMs: 30_000 }, () =>
      rejection(trust("accept-new", { lockTimeoutMs: 200 }).verify("web", 22, ed25519.blob)),
    );
    expect(error).toBeInstanceOf(HostStoreLockError);
    expect(error).toMatchObject({ file: ours, holderPid: process.pid });
    expect(await exists(ours)).toBe(false);
    expect(warnings).toEqual([]);
  });

  it("adds a newline first when our file does not end with one", async () => {
    await writeFile(ours, `other ${ecdsa.pubLine}`);
    await trust("accept-new").verify("web", 22, ed25519.blob);
    expect(await readFile(ours, "utf8")).toBe(`other ${ecdsa.pubLine}\nweb ${ed25519.pubLine}\n`);
  });

  it("never modifies the user's known_hosts file", async () => {
    const original = `# mine\nother ${ecdsa.pubLine}`;
    await writeFile(users, original);
    const before = await stat(users);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(trust("accept-new").verify("web", 22, ed25519.blob)).resolves.toEqual({ accepted: true, recorded: true });
    expect(await readFile(users, "utf8")).toBe(original);
    expect((await stat(users)).mtimeMs).toBe(before.mtimeMs);
    expect(await readFile(ours, "utf8")).toBe(`web ${ed25519.pubLine}\n`);
  });

  it("copes with missing user files", async () => {
    const t = trust("accept-new", { userKnownHostsFiles: [join(dir, "absent"), join(dir, "nope", "known_hosts")] });
    await expect(t.verify("web", 22, ed25519.blob)).resolves.toEqual({ accepted: true, recorded: true });
  });
});

describe("HostKeyTrust with a host that is not one literal name", () => {
  it.each(["*", "*.example.com", "web,db", "!web", "|1|c2FsdA==|aGFzaA==", "@revoked", "[web]:22"])(
    "refuses %j under accept-new and writes nothing, so no pattern ever vouches for other hosts",
    async (host) => {
      await writeFile(ours, `web ${ed25519.pubLine}\n`);
      const t = trust("accept-new");
      const error = await rejection(t.verify(host, 22, ed25519Other.blob));
      expect(error).toBeInstanceOf(UnsafeHostNameError);
      expect((error as Error).message).toContain(JSON.stringify(host));
      expect(await readFile(ours, "utf8")).toBe(`web ${ed25519.pubLine}\n`);
      // The impostor's key is still refused for the host whose real key is recorded.
      await expect(t.verify("web", 22, ed25519Other.blob)).rejects.toBeInstanceOf(HostKeyMismatchError);
      await expect(trust("yes").verify("web", 22, ed25519Other.blob)).rejects.toBeInstanceOf(HostKeyMismatchError);
    },
  );

  it("refuses it under 'yes' even when a line matches it", async () => {
    await writeFile(ours, `* ${ed25519.pubLine}\n`);
    await expect(trust("yes").verify("*", 22, ed25519.blob)).rejects.toBeInstanceOf(UnsafeHostNameError);
  });
});

describe("HostKeyTrust.recordedKeyTypes", () => {
  it("lists types for host:port, our file first, without duplicates, markers or other ports", async () => {
    await writeFile(
      ours,
      [
        `[web]:2222 ${ecdsa.pubLine}`,
        `web ${rsa.pubLine}`,
        `@revoked [web]:2222 ${rsa.pubLine}`,
        `@cert-authority * ${rsa.pubLine}`,
      ].join("\n"),
    );
    await writeFile(users, `[web]:2222 ${ed25519.pubLine}\n*,!db ${ecdsa.pubLine}\n[db]:2222 ${rsa.pubLine}\n`);
    const t = trust("accept-new");
    expect(await t.recordedKeyTypes("web", 2222)).toEqual(["ecdsa-sha2-nistp256", "ssh-ed25519"]);
    expect(await t.recordedKeyTypes("web", 22)).toEqual(["ssh-rsa", "ecdsa-sha2-nistp256"]);
    expect(await t.recordedKeyTypes("db", 22)).toEqual([]);
    expect(await t.recordedKeyTypes("unknown", 2200)).toEqual(["ecdsa-sha2-nistp256"]);
  });

  it("is empty when no file exists", async () => {
    expect(await trust("yes").recordedKeyTypes("web", 22)).toEqual([]);
  });

  it("sees a key recorded by verify", async () => {
    const t = trust("accept-new");
    await t.verify("web", 22, ed25519.blob);
    expect(await t.recordedKeyTypes("web", 22)).toEqual(["ssh-ed25519"]);
  });
});

describe.runIf(process.platform !== "win32")("HostKeyTrust with known_hosts files others could have written", () => {
  const policies: StrictHostKeyChecking[] = ["accept-new", "yes", "no"];

  it.each(["0666", "0646", "0664"])("refuses our known_hosts of mode %s under every policy, appending nothing", async (text) => {
    const loose = Number.parseInt(text, 8);
    await writeFile(ours, `web ${ed25519.pubLine}\n`);
    await chmod(ours, loose);
    for (const policy of policies) {
      const error = await rejection(trust(policy).verify("new", 22, ed25519.blob));
      expect(error, policy).toBeInstanceOf(UnsafePathError);
      expect((error as Error).message).toContain(`${ours} is writable by other users (mode ${text})`);
      expect((error as Error).message).toContain(`chmod go-w ${ours}`);
    }
    expect(await readFile(ours, "utf8")).toBe(`web ${ed25519.pubLine}\n`);
    expect((await stat(ours)).mode & 0o777).toBe(loose);
  });

  it("refuses our known_hosts when it is a symbolic link, and appends nothing to its target", async () => {
    const target = join(dir, "elsewhere");
    await writeFile(target, `other ${ecdsa.pubLine}\n`);
    await symlink(target, ours);
    const error = await rejection(trust("accept-new").verify("web", 22, ed25519.blob));
    expect(error).toBeInstanceOf(UnsafePathError);
    expect((error as Error).message).toContain(`${ours} is a symbolic link to ${target}`);
    expect(await readFile(target, "utf8")).toBe(`other ${ecdsa.pubLine}\n`);
  });

  it("refuses to create our known_hosts in a world-writable directory, changing nothing there", async () => {
    const shared = join(dir, "shared");
    await mkdir(shared);
    await chmod(shared, 0o1777);
    const t = trust("accept-new", { knownHostsFile: join(shared, "known_hosts") });
    const error = await rejection(t.verify("web", 22, ed25519.blob));
    expect(error).toBeInstanceOf(UnsafePathError);
    expect((error as Error).message).toContain(`${shared} is writable by other users (mode 1777)`);
    expect((await stat(shared)).mode & 0o7777).toBe(0o1777);
    expect(await exists(join(shared, "known_hosts"))).toBe(false);
  });

  it("refuses a user known_hosts others can write rather than skip it (its revocations would go with it)", async () => {
    await writeFile(users, `@revoked web ${ed25519.pubLine}\n`);
    await chmod(users, 0o666);
    const error = await rejection(trust("accept-new").verify("web", 22, ed25519.blob));
    expect(error).toBeInstanceOf(UnsafePathError);
    expect((error as Error).message).toContain(`chmod go-w ${users}`);
    expect(await exists(ours)).toBe(false);
  });

  it("follows a user known_hosts that is a symbolic link to a safe file (it is only read)", async () => {
    const target = join(dir, "dotfiles_known_hosts");
    await writeFile(target, `web ${ed25519.pubLine}\n`);
    await symlink(target, users);
    await expect(trust("yes").verify("web", 22, ed25519.blob)).resolves.toEqual({ accepted: true, recorded: false });
  });

  it("still records a new host in a known_hosts others may read but not write (0644, as ssh leaves it)", async () => {
    await writeFile(ours, `other ${ecdsa.pubLine}\n`);
    await chmod(ours, 0o644);
    await expect(trust("accept-new").verify("web", 22, ed25519.blob)).resolves.toEqual({ accepted: true, recorded: true });
    expect((await stat(ours)).mode & 0o777).toBe(0o644);
  });

  // Giving a file to another user takes root; CI runs the tests as root.
  it.runIf(process.getuid?.() === 0)("refuses our known_hosts when it belongs to another user, even with mode 0644", async () => {
    await writeFile(ours, `web ${ed25519.pubLine}\n`);
    await chown(ours, 65534, 65534);
    const error = await rejection(trust("accept-new").verify("web", 22, ed25519.blob));
    expect(error).toBeInstanceOf(UnsafePathError);
    expect((error as Error).message).toContain(`${ours} belongs to uid 65534`);
    expect((error as Error).message).toContain(`sudo chown root ${ours}`);
  });
});
