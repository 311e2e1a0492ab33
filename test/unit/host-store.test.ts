import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, unlink, utimes, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { hostname, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../src/hosts/atomic-write.js";
import { withFileLock } from "../../src/hosts/file-lock.js";
import {
  DuplicateHostError,
  HostNotFoundError,
  HostsFileError,
  HostStoreLockError,
  InvalidHostError,
  UnsafePathError,
} from "../../src/hosts/host-errors.js";
import { HostStore, expandHome, type HostInput, type HostPatch } from "../../src/hosts/host-store.js";
import { fingerprintSha256 } from "../../src/ssh/host-key.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const WRITER = join(ROOT, "test/support/host-store-writer.mjs");
const LOCK_HOLDER = join(ROOT, "test/support/lock-holder.mjs");
const POSIX = process.platform !== "win32";

const FINGERPRINT = fingerprintSha256(Buffer.from("a host key blob"));
const WEB: HostInput = { host_id: "web", host: "10.0.0.5", port: 22, username: "deploy", keyPath: "~/id_test" };

let dir: string; // the store's directory, inside `home`
let home: string; // a throwaway home holding the key file, for "~" expansion
let warnings: string[];
/** Child processes to kill after each test, should one fail midway. */
const children: ChildProcess[] = [];

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "ssh-mcp-hosts-"));
  dir = join(home, ".ssh-mcp");
  warnings = [];
  // Only the first line is checked when a host is saved; the key is parsed when connecting.
  await writeFile(join(home, "id_test"), "-----BEGIN OPENSSH PRIVATE KEY-----\nnot really a key\n-----END OPENSSH PRIVATE KEY-----\n");
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await rm(home, { recursive: true, force: true });
});

function makeStore(options: { lockTimeoutMs?: number } = {}): HostStore {
  return new HostStore({ dir, homeDir: home, warn: (m) => warnings.push(m), ...options });
}

function hostsFile(): string {
  return join(dir, "hosts.json");
}

/** Bytes of hosts.json (null when absent) and the directory listing, to prove an operation touched nothing. */
async function snapshot(): Promise<{ bytes: Buffer | null; entries: string[] }> {
  const bytes = existsSync(hostsFile()) ? await readFile(hostsFile()) : null;
  const entries = existsSync(dir) ? (await readdir(dir)).sort() : [];
  return { bytes, entries };
}

async function writeHostsFile(text: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(hostsFile(), text, { mode: 0o600 });
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o7777;
}

/** Every path under `roots` (not following links) with its mode, owner and bytes: proof that nothing changed. */
async function describeTree(roots: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (path: string): Promise<void> => {
    const stats = await lstat(path).catch(() => null);
    if (!stats) return;
    out[path] = `${(stats.mode & 0o7777).toString(8)} ${stats.uid} ${stats.isFile() ? (await readFile(path)).toString("base64") : ""}`;
    if (stats.isDirectory()) for (const name of await readdir(path)) await visit(join(path, name));
  };
  for (const root of roots) await visit(root);
  return out;
}

describe("round trip", () => {
  it("adds, lists, gets, edits and removes a host, writing the documented JSON", async () => {
    const store = makeStore();
    expect(store.file).toBe(hostsFile());

    expect(await store.add(WEB)).toEqual(WEB);
    await store.add({ host_id: "api", host: "api.example.com", username: "ops", password: "s3cret", agentForward: true });
    expect(await readFile(hostsFile(), "utf8")).toBe(
      `{
  "hosts": [
    {
      "host_id": "web",
      "host": "10.0.0.5",
      "port": 22,
      "username": "deploy",
      "keyPath": "~/id_test"
    },
    {
      "host_id": "api",
      "host": "api.example.com",
      "port": 22,
      "username": "ops",
      "password": "s3cret",
      "agentForward": true
    }
  ]
}
`,
    );

    expect((await store.list()).map((h) => h.host_id)).toEqual(["web", "api"]);
    expect(await store.get("web")).toEqual(WEB);

    const { host: edited } = await store.edit("web", { port: 2222 });
    expect(edited).toEqual({ ...WEB, port: 2222 });
    expect(await store.get("web")).toEqual(edited);

    expect(await store.remove("web")).toEqual(edited);
    expect(await store.list()).toEqual([
      { host_id: "api", host: "api.example.com", port: 22, username: "ops", password: "s3cret", agentForward: true },
    ]);
    expect(JSON.parse(await readFile(hostsFile(), "utf8")).hosts).toHaveLength(1);
  });

  it("defaults port to 22, stores the hostKey without '=' padding and keeps keyPath as given", async () => {
    const host = await makeStore().add({ host_id: "h", host: "::1", username: "u", keyPath: "~/id_test", hostKey: `${FINGERPRINT}=` });
    expect(host).toEqual({ host_id: "h", host: "::1", port: 22, username: "u", keyPath: "~/id_test", hostKey: FINGERPRINT });
  });

  it("accepts an absolute keyPath and a 64-character host_id", async () => {
    const id = "x".repeat(64);
    const host = await makeStore().add({ host_id: id, host: "h", username: "u", keyPath: join(home, "id_test") });
    expect(host.host_id).toBe(id);
  });

  it("treats a missing directory, a missing file and an empty file as no hosts", async () => {
    const store = makeStore();
    expect(await store.list()).toEqual([]);
    expect(existsSync(dir)).toBe(false); // reading does not create anything
    await writeHostsFile("");
    expect(await store.list()).toEqual([]);
    await store.add(WEB);
    expect(await store.list()).toEqual([WEB]);
  });

  it("names the known hosts when get, edit or remove is given an unknown host_id", async () => {
    const store = makeStore();
    await expect(store.get("db1")).rejects.toThrow("No host 'db1'. No hosts are saved yet. Add one with add-host.");
    await store.add(WEB);
    await store.add({ ...WEB, host_id: "api" });
    const before = await snapshot();
    for (const attempt of [() => store.get("db1"), () => store.edit("db1", { port: 1 }), () => store.remove("db1")]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HostNotFoundError);
      expect((error as HostNotFoundError).message).toBe("No host 'db1'. Known hosts: web, api. Add it with add-host.");
      expect((error as HostNotFoundError).knownIds).toEqual(["web", "api"]);
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe("expandHome", () => {
  it("expands only a leading ~ or ~/ to the given home", () => {
    expect(expandHome("~", "/h")).toBe("/h");
    expect(expandHome("~/.ssh/id", "/h")).toBe(join("/h", ".ssh/id"));
    expect(expandHome("~bob/.ssh/id", "/h")).toBe("~bob/.ssh/id");
    expect(expandHome("/abs/~/x", "/h")).toBe("/abs/~/x");
  });
});

describe("validation refuses bad input and leaves hosts.json unchanged", () => {
  const base = { host_id: "new", host: "10.0.0.9", username: "u" };
  const cases: Array<[string, unknown, typeof InvalidHostError | typeof DuplicateHostError, string]> = [
    ["an empty host_id", { ...base, host_id: "" }, InvalidHostError, "host_id"],
    ["a duplicate host_id", { ...base, host_id: "web" }, DuplicateHostError, "web"],
    ["a host_id with a space", { ...base, host_id: "my host" }, InvalidHostError, "host_id"],
    ["a host_id with a tab", { ...base, host_id: "my\thost" }, InvalidHostError, "host_id"],
    ["a host_id with a control character", { ...base, host_id: "a\u0007b" }, InvalidHostError, "host_id"],
    ["a host_id of 65 characters", { ...base, host_id: "x".repeat(65) }, InvalidHostError, "host_id"],
    ["a host_id of only dots", { ...base, host_id: ".." }, InvalidHostError, "host_id"],
    ["a host_id with a right-to-left override", { ...base, host_id: "web\u202E1bd" }, InvalidHostError, "host_id"],
    ["a host_id with a zero-width space", { ...base, host_id: "we\u200Bb" }, InvalidHostError, "host_id"],
    ["a host_id with a zero-width joiner", { ...base, host_id: "we\u200Db" }, InvalidHostError, "host_id"],
    ["a host_id with a soft hyphen", { ...base, host_id: "we\u00ADb" }, InvalidHostError, "host_id"],
    ["a host_id with a Hangul filler", { ...base, host_id: "web\u3164" }, InvalidHostError, "host_id"],
    ["a host_id with a variation selector", { ...base, host_id: "web\uFE0F" }, InvalidHostError, "host_id"],
    ["a host_id with a combining grapheme joiner", { ...base, host_id: "we\u034Fb" }, InvalidHostError, "host_id"],
    ["a host_id with a lone surrogate", { ...base, host_id: "web\uD800" }, InvalidHostError, "host_id"],
    ["a host_id in decomposed form", { ...base, host_id: "cafe\u0301" }, InvalidHostError, "host_id"],
    ["a proxyJump with a zero-width space", { ...base, proxyJump: "w\u200Beb" }, InvalidHostError, "proxyJump"],
    ["port 0", { ...base, port: 0 }, InvalidHostError, "port"],
    ["port -1", { ...base, port: -1 }, InvalidHostError, "port"],
    ["port 70000", { ...base, port: 70000 }, InvalidHostError, "port"],
    ["port 22.5", { ...base, port: 22.5 }, InvalidHostError, "port"],
    ["port given as a string", { ...base, port: "22" }, InvalidHostError, "port"],
    ["a missing username", { host_id: "new", host: "h" }, InvalidHostError, "username"],
    ["an empty username", { ...base, username: "" }, InvalidHostError, "username"],
    ["a username with a space", { ...base, username: "a b" }, InvalidHostError, "username"],
    ["a missing host", { host_id: "new", username: "u" }, InvalidHostError, "host"],
    ["a host with a space", { ...base, host: "10.0.0.1 " }, InvalidHostError, "host"],
    ["a host that is a wildcard", { ...base, host: "*" }, InvalidHostError, "host"],
    ["a host that is a wildcard domain", { ...base, host: "*.example.com" }, InvalidHostError, "host"],
    ["a host that is a list", { ...base, host: "web,db" }, InvalidHostError, "host"],
    ["a host that is a negation", { ...base, host: "!web" }, InvalidHostError, "host"],
    ["a host that is a hashed known_hosts name", { ...base, host: "|1|c2FsdA==|aGFzaA==" }, InvalidHostError, "host"],
    ["a host that is a known_hosts marker", { ...base, host: "@revoked" }, InvalidHostError, "host"],
    ["a host with a port", { ...base, host: "web:2222" }, InvalidHostError, "host"],
    ["a host with a user", { ...base, host: "root@web" }, InvalidHostError, "host"],
    ["a host that is not a valid IPv4 address", { ...base, host: "10.0.0.300" }, InvalidHostError, "host"],
    ["an empty password", { ...base, password: "" }, InvalidHostError, "password"],
    ["a missing key file", { ...base, keyPath: "~/no_such_key" }, InvalidHostError, "keyPath"],
    ["an empty keyPath", { ...base, keyPath: "" }, InvalidHostError, "keyPath"],
    ["a keyPath that is a directory", { ...base, keyPath: "~" }, InvalidHostError, "keyPath"],
    ["a hostKey that is not a fingerprint", { ...base, hostKey: "MD5:aa:bb" }, InvalidHostError, "hostKey"],
    ["a hostKey one character short", { ...base, hostKey: FINGERPRINT.slice(0, -1) }, InvalidHostError, "hostKey"],
    ["a non-boolean agentForward", { ...base, agentForward: "yes" }, InvalidHostError, "agentForward"],
    ["a host of 254 characters", { ...base, host: "h".repeat(254) }, InvalidHostError, "host"],
    ["a username of 257 characters", { ...base, username: "u".repeat(257) }, InvalidHostError, "username"],
    ["a password of 1025 characters", { ...base, password: "p".repeat(1025) }, InvalidHostError, "password"],
    ["a keyPath of 4097 characters", { ...base, keyPath: "/" + "k".repeat(4096) }, InvalidHostError, "keyPath"],
    ["a hostKey of 65 characters", { ...base, hostKey: "S".repeat(65) }, InvalidHostError, "hostKey"],
    ["a proxyJump of 65 characters", { ...base, proxyJump: "j".repeat(65) }, InvalidHostError, "proxyJump"],
  ];

  it.each(cases)("add refuses %s", async (_name, input, errorClass, field) => {
    const store = makeStore();
    await store.add(WEB);
    const before = await snapshot();
    const error = await store.add(input as HostInput).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(errorClass);
    if (error instanceof InvalidHostError) expect(error.field).toBe(field);
    else expect((error as DuplicateHostError).hostId).toBe(field);
    expect(await snapshot()).toEqual(before);
  });

  it("says what a host must be, naming the field", async () => {
    await expect(makeStore().add({ ...base, host: "*" })).rejects.toThrow(
      'Invalid host "*": must be one host, not a pattern, a list or a marker (*, ?, !, commas, | and a leading @ are not allowed). ' +
        'Give one host name such as "db.example.com", an IPv4 address such as "10.0.0.5" or an IPv6 address such as "2001:db8::1".',
    );
  });

  it("accepts DNS names (underscores too), IPv4 and IPv6 addresses, storing IPv6 without brackets", async () => {
    const store = makeStore();
    const hosts = ["db.example.com", "_ssh.example.com.", "10.0.0.5", "2001:db8::1", "[2001:db8::2]", "fe80::1%eth0"];
    for (const [i, host] of hosts.entries()) await store.add({ ...base, host_id: `h${i}`, host });
    expect((await store.list()).map((h) => h.host)).toEqual(hosts.map((h) => h.replace(/^\[(.*)\]$/, "$1")));
    expect((await store.edit("h0", { host: "[::1]" })).host.host).toBe("::1");
  });

  it("accepts a host_id in other scripts, and names an invisible character without printing it", async () => {
    const store = makeStore();
    expect((await store.add({ ...base, host_id: "café-東京" })).host_id).toBe("café-東京");
    const error = await store.add({ ...base, host_id: "web\u202E1bd" }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/U\+202E.*invisible or formatting character/);
    expect((error as Error).message).not.toContain("\u202E");
  });

  it("refuses invalid input before creating anything", async () => {
    await expect(makeStore().add({ ...base, port: 0 })).rejects.toBeInstanceOf(InvalidHostError);
    expect(existsSync(dir)).toBe(false);
  });

  it("says what is accepted, e.g. the port range", async () => {
    await expect(makeStore().add({ ...base, port: 70000 })).rejects.toThrow(
      "Invalid port 70000: must be an integer from 1 to 65535.",
    );
  });

  it("names the given and the resolved key path and suggests ssh-agent", async () => {
    const error = await makeStore().add({ ...base, keyPath: "~/no_such_key" }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('"~/no_such_key"');
    expect((error as Error).message).toContain(join(home, "no_such_key"));
    expect((error as Error).message).toContain("omit keyPath to use ssh-agent");
  });

  it("refuses a duplicate host_id with a hint to use edit-host", async () => {
    const store = makeStore();
    await store.add(WEB);
    await expect(store.add(WEB)).rejects.toThrow(
      "A host 'web' already exists. Choose another host_id, or change it with edit-host.",
    );
  });

  it("never puts a password in an error message", async () => {
    const store = makeStore();
    const bad = await store.add({ ...base, password: 12345 as unknown as string }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InvalidHostError);
    expect((bad as Error).message).not.toContain("12345");

    await writeHostsFile('{"hosts": [{"host_id": "a", "password": "hunter2" "x"}]}');
    const corrupt = await store.list().catch((e: unknown) => e);
    expect(corrupt).toBeInstanceOf(HostsFileError);
    expect((corrupt as Error).message).not.toContain("hunter2");
    expect(String((corrupt as Error).cause ?? "")).not.toContain("hunter2");
  });
});

describe("edit", () => {
  const FULL: HostInput = { ...WEB, password: "pw", hostKey: FINGERPRINT, agentForward: false };

  it("changes only the given fields", async () => {
    const store = makeStore();
    await store.add(FULL);
    await store.add({ ...WEB, host_id: "other" });
    const otherBefore = await store.get("other");

    // The password is given again: changing host or username without it would remove it (tested below).
    expect((await store.edit("web", { host: "10.0.0.6", username: "root", agentForward: true, password: "pw" })).host).toEqual({
      ...FULL,
      host: "10.0.0.6",
      username: "root",
      agentForward: true,
    });
    expect((await store.edit("web", { agentForward: false, password: undefined })).host).toMatchObject({ agentForward: false, password: "pw" });
    expect(await store.get("other")).toEqual(otherBefore);
    expect((await store.list()).map((h) => h.host_id)).toEqual(["web", "other"]);
  });

  it("removes password, keyPath and hostKey when given as empty strings", async () => {
    const store = makeStore();
    await store.add(FULL);
    expect((await store.edit("web", { password: "" })).host).not.toHaveProperty("password");
    expect((await store.edit("web", { keyPath: "", hostKey: "" })).host).toEqual({
      host_id: "web",
      host: "10.0.0.5",
      port: 22,
      username: "deploy",
      agentForward: false,
    });
    const stored = JSON.parse(await readFile(hostsFile(), "utf8")).hosts[0];
    expect(Object.keys(stored)).toEqual(["host_id", "host", "port", "username", "agentForward"]);
  });

  it("switches from a key to a password and stores a new hostKey canonically", async () => {
    const store = makeStore();
    await store.add(WEB);
    expect((await store.edit("web", { keyPath: "", password: "pw", hostKey: `${FINGERPRINT}=` })).host).toEqual({
      host_id: "web",
      host: "10.0.0.5",
      port: 22,
      username: "deploy",
      password: "pw",
      hostKey: FINGERPRINT,
    });
  });

  it.each<[string, HostPatch]>([
    ["an empty patch", {}],
    ["a patch of only undefined fields", { host: undefined, port: undefined }],
  ])("refuses %s and says what can be changed", async (_name, patch) => {
    const store = makeStore();
    await store.add(WEB);
    const before = await snapshot();
    const error = await store.edit("web", patch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidHostError);
    expect((error as Error).message).toBe(
      "Nothing to change: give at least one of host, port, username, password, sudoPassword, keyPath, hostKey, agentForward, proxyJump.",
    );
    expect(await snapshot()).toEqual(before);
  });

  it.each<[string, HostPatch, string]>([
    ["port 0", { port: 0 }, "port"],
    ["port 65536", { port: 65536 }, "port"],
    ["an empty host", { host: "" }, "host"],
    ["a wildcard host", { host: "*" }, "host"],
    ["a host list", { host: "web,*" }, "host"],
    ["a username with a space", { username: "a b" }, "username"],
    ["a missing key file", { keyPath: "/no/such/key" }, "keyPath"],
    ["a bad hostKey", { hostKey: "SHA256:short" }, "hostKey"],
    ["a valid field next to an invalid one", { host: "fine", port: -1 }, "port"],
    ["a host_id", { host_id: "renamed" } as HostPatch, "host_id"],
  ])("refuses %s and leaves hosts.json unchanged", async (_name, patch, field) => {
    const store = makeStore();
    await store.add(WEB);
    const before = await snapshot();
    const error = await store.edit("web", patch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidHostError);
    expect((error as InvalidHostError).field).toBe(field);
    expect(await snapshot()).toEqual(before);
  });
});

describe("edit that points a host elsewhere", () => {
  const PW: HostInput = { host_id: "web", host: "10.0.0.5", username: "deploy", password: "pw" };

  it.each<[string, HostPatch, string[]]>([
    ["host", { host: "10.0.0.6" }, ["host"]],
    ["port", { port: 2222 }, ["port"]],
    ["username", { username: "root" }, ["username"]],
    ["host and port", { host: "10.0.0.6", port: 2222 }, ["host", "port"]],
  ])("removes the stored password when %s changes and it is not given again", async (_name, patch, because) => {
    const store = makeStore();
    await store.add(PW);
    const edit = await store.edit("web", patch);
    expect(edit.host).not.toHaveProperty("password");
    expect(edit.removed).toEqual([{ field: "password", because }]);
    expect(await store.get("web")).not.toHaveProperty("password");
  });

  it("keeps a password given again in the same call", async () => {
    const store = makeStore();
    await store.add(PW);
    const edit = await store.edit("web", { host: "10.0.0.6", password: "new-pw" });
    expect(edit.host).toMatchObject({ host: "10.0.0.6", password: "new-pw" });
    expect(edit.removed).toEqual([]);
  });

  it("keeps the password when the values given are the ones already saved, or other fields change", async () => {
    const store = makeStore();
    await store.add(PW);
    expect((await store.edit("web", { host: "10.0.0.5", port: 22, username: "deploy" })).removed).toEqual([]);
    expect((await store.edit("web", { hostKey: FINGERPRINT, keyPath: "~/id_test" })).removed).toEqual([]);
    expect(await store.get("web")).toMatchObject({ password: "pw" });
  });

  it("turns agentForward off when host or port changes, not when only username does", async () => {
    const store = makeStore();
    await store.add({ ...WEB, agentForward: true });
    expect((await store.edit("web", { username: "root" })).host).toMatchObject({ agentForward: true });
    const edit = await store.edit("web", { port: 2200 });
    expect(edit.host).not.toHaveProperty("agentForward");
    expect(edit.removed).toEqual([{ field: "agentForward", because: ["port"] }]);
    expect((await store.edit("web", { host: "10.0.0.7", agentForward: true })).host).toMatchObject({ agentForward: true });
  });

  it("keeps a pinned hostKey when the host moves, and says so", async () => {
    const store = makeStore();
    await store.add({ ...WEB, hostKey: FINGERPRINT });
    const moved = await store.edit("web", { host: "10.0.0.6" });
    expect(moved.host.hostKey).toBe(FINGERPRINT);
    expect(moved.keptHostKey).toBe(true);
    expect((await store.edit("web", { username: "root" })).keptHostKey).toBe(false);
    expect((await store.edit("web", { host: "10.0.0.7", hostKey: "" })).keptHostKey).toBe(false);
  });
});

describe.runIf(POSIX)("permissions", () => {
  it("creates the directory (with parents) 0700 and hosts.json 0600, without warnings", async () => {
    dir = join(home, "a", "b", ".ssh-mcp");
    await makeStore().add(WEB);
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(hostsFile())).toBe(0o600);
    expect(warnings).toEqual([]);
  });

  it("tightens a 0755 directory to 0700 on a write, but a read leaves it as it is and warns once with the fix", async () => {
    await mkdir(dir);
    await chmod(dir, 0o755);
    const store = makeStore();
    await store.add(WEB);
    expect(await mode(dir)).toBe(0o700);
    await chmod(dir, 0o755);
    await store.list();
    await store.get("web");
    expect(await mode(dir)).toBe(0o755);
    expect(warnings).toEqual([
      `Tightened permissions of ${dir} to 0700 (it may hold passwords)`,
      `${dir} can be read by other users (mode 0755). Fix it with: chmod 700 ${dir}`,
    ]);
  });

  it("reads a 0644 hosts.json without changing it, warning once with the fix", async () => {
    const store = makeStore();
    await store.add(WEB);
    await chmod(hostsFile(), 0o644);
    const before = await snapshot();
    expect(await store.list()).toEqual([WEB]);
    await store.get("web");
    expect(await mode(hostsFile())).toBe(0o644);
    expect(await snapshot()).toEqual(before);
    expect(warnings).toEqual([
      `${hostsFile()} can be read by other users (mode 0644) and may hold passwords. Fix it with: chmod 600 ${hostsFile()}`,
    ]);
  });

  it("writes hosts.json 0600 even when it was found 0644", async () => {
    await writeHostsFile('{"hosts": []}');
    await chmod(hostsFile(), 0o644);
    await makeStore().add(WEB);
    expect(await mode(hostsFile())).toBe(0o600);
    expect(warnings).toHaveLength(1);
  });
});

/** Every store operation, each of which must refuse a file it cannot trust and change nothing. */
const STORE_OPERATIONS: Array<[string, (store: HostStore) => Promise<unknown>]> = [
  ["list", (s) => s.list()],
  ["get", (s) => s.get("web")],
  ["add", (s) => s.add({ host_id: "new", host: "h", username: "u" })],
  ["edit", (s) => s.edit("web", { port: 2222 })],
  ["remove", (s) => s.remove("web")],
];

describe.runIf(POSIX)("files and directories others could have written", () => {
  /** Every operation fails with UnsafePathError naming `path` and `fix`, and nothing under `watched` changes. */
  async function expectRefused(path: string, fix: string, watched: string[] = [dir]): Promise<void> {
    const before = await describeTree(watched);
    for (const [name, run] of STORE_OPERATIONS) {
      const error = await run(makeStore()).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(UnsafePathError);
      expect((error as UnsafePathError).path, name).toBe(path);
      expect((error as Error).message, name).toContain(fix);
    }
    expect(await describeTree(watched)).toEqual(before);
  }

  it.each(["0666", "0662", "0620"])("refuses a hosts.json of mode %s, saying how to fix it", async (loose) => {
    await makeStore().add(WEB);
    await chmod(hostsFile(), Number.parseInt(loose, 8));
    await expectRefused(hostsFile(), `is writable by other users (mode ${loose}), so ssh-mcp will not use it. Fix it with: chmod 600 ${hostsFile()}`);
  });

  it.each(["0777", "1777", "0770"])("refuses a data directory of mode %s, saying how to fix it", async (loose) => {
    await makeStore().add(WEB);
    await chmod(dir, Number.parseInt(loose, 8));
    await expectRefused(dir, `Fix it with: chmod 700 ${dir}`);
  });

  it("refuses a data directory that is a symbolic link to a world-writable directory, and never chmods the target", async () => {
    const shared = join(home, "shared-tmp");
    await mkdir(shared);
    await chmod(shared, 0o1777);
    await symlink(shared, dir);
    await expectRefused(dir, `is a symbolic link to ${shared}, which is writable by other users (mode 1777)`, [shared]);
    expect(await mode(shared)).toBe(0o1777);
    expect(await readdir(shared)).toEqual([]);
    expect((await makeStore().list().catch((e: Error) => e.message)) as string).toContain(`rm ${dir} && mkdir -m 700 ${dir}`);
  });

  it("follows a data directory linked to a private directory of ours, changing none of its modes", async () => {
    const real = join(home, "elsewhere");
    await mkdir(real);
    await chmod(real, 0o755);
    await symlink(real, dir);
    const store = makeStore();
    await store.add(WEB);
    expect(await store.list()).toEqual([WEB]);
    expect(await mode(real)).toBe(0o755);
    expect(await mode(join(real, "hosts.json"))).toBe(0o600);
    expect(warnings).toEqual([`${dir} can be read by other users (mode 0755). Fix it with: chmod 700 ${real}`]);
  });

  it("refuses a hosts.json that is a symbolic link, leaving its target's bytes and mode alone", async () => {
    await makeStore().add(WEB);
    const target = join(home, "hosts-target.json");
    await writeFile(target, await readFile(hostsFile()), { mode: 0o644 });
    await chmod(target, 0o644);
    await unlink(hostsFile());
    await symlink(target, hostsFile());
    const before = await readFile(target);
    await expectRefused(hostsFile(), `is a symbolic link to ${target}`);
    expect(await mode(target)).toBe(0o644);
    expect(await readFile(target)).toEqual(before);
    expect((await makeStore().list().catch((e: Error) => e.message)) as string).toContain(
      `cp ${target} ${hostsFile()}.new && chmod 600 ${hostsFile()}.new && mv ${hostsFile()}.new ${hostsFile()}`,
    );
  });

  it("refuses a hosts.json that is a directory or a named pipe, without hanging on the pipe", async () => {
    await mkdir(hostsFile(), { recursive: true });
    await expect(makeStore().list()).rejects.toThrow(`${hostsFile()} is not a regular file`);
    await rm(hostsFile(), { recursive: true });
    execFileSync("mkfifo", ["-m", "600", hostsFile()]);
    await expect(makeStore().list()).rejects.toThrow(`${hostsFile()} is not a regular file`);
  });

  // Giving a file to another user takes root; CI runs the tests as root.
  describe.runIf(process.getuid?.() === 0)("owned by another user", () => {
    it("refuses a hosts.json that belongs to nobody (uid 65534), saying how to fix it", async () => {
      await makeStore().add(WEB);
      await chown(hostsFile(), 65534, 65534);
      await expectRefused(hostsFile(), `belongs to uid 65534, not to you (root), so ssh-mcp will not use it. If it is yours, fix it with: sudo chown root ${hostsFile()}`);
    });

    it("refuses a data directory that belongs to nobody", async () => {
      await makeStore().add(WEB);
      await chown(dir, 65534, 65534);
      await expectRefused(dir, `belongs to uid 65534`);
    });
  });
});

describe("concurrent writers", () => {
  beforeAll(ensureBuilt, 120_000);

  it("keeps all 30 hosts from 30 concurrent adds on one store", async () => {
    const store = makeStore();
    const ids = Array.from({ length: 30 }, (_, i) => `h${i}`);
    await Promise.all(ids.map((id) => store.add({ host_id: id, host: "h", username: "u" })));
    expect((await store.list()).map((h) => h.host_id).sort()).toEqual([...ids].sort());
    expect(await snapshot()).toMatchObject({ entries: ["hosts.json"] });
  });

  it("keeps all hosts from two stores on the same directory in one process", async () => {
    const [a, b] = [makeStore(), makeStore()];
    await Promise.all(
      Array.from({ length: 15 }, (_, i) => [
        a.add({ host_id: `a${i}`, host: "h", username: "u" }),
        b.add({ host_id: `b${i}`, host: "h", username: "u" }),
      ]).flat(),
    );
    expect(await a.list()).toHaveLength(30);
  });

  it("never shows a concurrent reader a partial or emptied file", async () => {
    const writer = makeStore();
    const reader = makeStore();
    // Long values make each write bigger, widening the window a non-atomic write would expose.
    const adds = Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        writer.add({ host_id: `h${i}`, host: "h", username: "u".repeat(256), password: "p".repeat(1024) }),
      ),
    );
    let writing = true;
    void adds.finally(() => (writing = false));
    const counts: number[] = [];
    try {
      while (writing) counts.push((await reader.list()).length);
    } finally {
      // Let the writes finish even when a read failed, so cleanup does not race them.
      await adds.catch(() => {});
    }
    await adds;
    expect(counts.length).toBeGreaterThan(0);
    // Each read sees some complete committed state, and states only grow.
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
  });

  it("keeps all 50 hosts when two processes each add 25 at once", async () => {
    const writers = [startWriter("p"), startWriter("q")];
    await Promise.all(writers.map((w) => w.ready));
    for (const w of writers) w.child.stdin!.write("go\n");
    const results = await Promise.all(writers.map((w) => w.done));
    expect(results).toEqual([
      { code: 0, stderr: "" },
      { code: 0, stderr: "" },
    ]);
    const parsed = JSON.parse(await readFile(hostsFile(), "utf8")) as { hosts: Array<{ host_id: string }> };
    const ids = parsed.hosts.map((h) => h.host_id);
    expect(ids).toHaveLength(50);
    expect(new Set(ids).size).toBe(50);
    expect(await snapshot()).toMatchObject({ entries: ["hosts.json"] });
  }, 30_000);
});

describe("a corrupt hosts.json", () => {
  const contents: Array<[string, string]> = [
    ["is not JSON", "{not json"],
    ["is truncated", '{"hosts": [{"host_id": "web",'],
    ["has hosts as an object", '{"hosts": {}}'],
    ["is an array", "[]"],
    ["has a port given as a string", '{"hosts": [{"host_id": "web", "host": "h", "port": "22", "username": "u"}]}'],
    [
      "has a duplicate host_id",
      '{"hosts": [{"host_id": "a", "host": "h", "port": 22, "username": "u"}, {"host_id": "a", "host": "h", "port": 22, "username": "u"}]}',
    ],
    ["has an unknown field", '{"hosts": [{"host_id": "a", "host": "h", "port": 22, "username": "u", "pasword": "x"}]}'],
  ];

  describe.each(contents)("that %s", (_name, text) => {
    it.each(STORE_OPERATIONS)("makes %s throw HostsFileError and stays byte-for-byte unchanged", async (_op, run) => {
      await writeHostsFile(text);
      const before = await snapshot();
      const error = await run(makeStore()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HostsFileError);
      expect((error as HostsFileError).file).toBe(hostsFile());
      expect((error as Error).message).toContain(hostsFile());
      expect((error as Error).message).toContain("Fix it by hand or move it away; ssh-mcp will not overwrite it.");
      expect(await snapshot()).toEqual(before);
    });
  });

  it("points at where the JSON breaks", async () => {
    await writeHostsFile('{\n  "hosts": [\n    {not json}\n  ]\n}\n');
    await expect(makeStore().list()).rejects.toThrow(`${hostsFile()} is not valid JSON (syntax error at line 3, column 6).`);
  });

  it("names the offending field when the shape is wrong", async () => {
    await writeHostsFile('{"hosts": [{"host_id": "web", "host": "h", "port": "22", "username": "u"}]}');
    await expect(makeStore().list()).rejects.toThrow(/hosts\[0\]\.port/);
  });

  it("refuses a value over add-host's limit, naming the host and the limit in a short message", async () => {
    const hosts = [WEB, { ...WEB, host_id: "big", host: "h".repeat(1024 ** 2) }];
    await writeHostsFile(JSON.stringify({ hosts }));
    const error = await makeStore().list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostsFileError);
    expect((error as Error).message).toMatch(/hosts\[1\]\.host \(host_id 'big'\): too long \(1048576 characters; the limit is 253\)/);
    expect((error as Error).message.length).toBeLessThan(500);
  });
});

describe("the lock", () => {
  beforeAll(ensureBuilt, 120_000);
  const lockPath = (): string => `${hostsFile()}.lock`;

  /** A child process holding the lock on hosts.json; `release()` lets it go, `kill()` makes it die holding it. */
  async function holdLock(): Promise<{ pid: number; release(): Promise<void>; kill(): Promise<void> }> {
    await writeHostsFile("");
    const child = spawn(process.execPath, [LOCK_HOLDER, hostsFile()], { stdio: ["pipe", "pipe", "pipe"] });
    children.push(child);
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
    await new Promise<void>((resolveLocked, reject) => {
      child.stdout!.once("data", () => resolveLocked());
      void exited.then(() => reject(new Error(`lock holder exited early: ${stderr}`)));
    });
    return {
      pid: child.pid!,
      release: async () => {
        child.stdin!.write("release\n");
        await exited;
      },
      kill: async () => {
        child.kill("SIGKILL");
        await exited;
      },
    };
  }

  /** A lock in the current layout recording `record` as its holder, as a process would have left it. */
  async function craftLock(record: Record<string, unknown>): Promise<void> {
    await writeHostsFile("");
    await mkdir(lockPath(), { mode: 0o700 });
    await writeFile(join(lockPath(), "0123456789abcdef01234567"), JSON.stringify(record), { mode: 0o600 });
  }

  it("takes over at once the lock of a process that died holding it, without waiting for the timeout", async () => {
    const holder = await holdLock();
    await holder.kill();
    expect(existsSync(lockPath())).toBe(true);

    const started = Date.now();
    await makeStore({ lockTimeoutMs: 5_000 }).add(WEB);

    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await makeStore().list()).toEqual([WEB]);
    expect(await snapshot()).toMatchObject({ entries: ["hosts.json"] });
  });

  it("takes over a lock whose pid now belongs to another process (same pid, another start time)", async () => {
    await craftLock({ pid: process.pid, host: hostname(), start: "1" });
    await makeStore({ lockTimeoutMs: 2_000 }).add(WEB);
    expect(await snapshot()).toMatchObject({ entries: ["hosts.json"] });
  });

  it("takes over a lock file left by an older ssh-mcp whose process is gone", async () => {
    await writeHostsFile("");
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    await writeFile(lockPath(), `${dead.stdout}\n`);
    await makeStore({ lockTimeoutMs: 2_000 }).add(WEB);
    expect(await snapshot()).toMatchObject({ entries: ["hosts.json"] });
  });

  it("takes over a lock older than 30 s from another machine (a shared home), whose process cannot be checked", async () => {
    await craftLock({ pid: 1, host: `not-${hostname()}` });
    const when = Date.now() / 1000 - 31;
    await utimes(join(lockPath(), "0123456789abcdef01234567"), when, when);
    await makeStore({ lockTimeoutMs: 2_000 }).add(WEB);
    expect(await snapshot()).toMatchObject({ entries: ["hosts.json"] });
  });

  it("makes add wait for a live holder and succeed once it releases the lock", async () => {
    const holder = await holdLock();
    let settled = false;
    const adding = makeStore().add(WEB).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    expect(await readFile(hostsFile(), "utf8")).toBe("");
    await holder.release();
    expect(await adding).toEqual(WEB);
    expect(await makeStore().list()).toEqual([WEB]);
    expect(await snapshot()).toMatchObject({ entries: ["hosts.json"] });
  });

  it("gives up after lockTimeoutMs with HostStoreLockError naming the live holder, leaving hosts.json unchanged", async () => {
    const holder = await holdLock();
    const before = await snapshot();
    const error = await makeStore({ lockTimeoutMs: 200 }).add(WEB).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostStoreLockError);
    expect((error as HostStoreLockError).holderPid).toBe(holder.pid);
    expect((error as Error).message).toContain(lockPath());
    expect(await snapshot()).toEqual(before);
    await holder.release();
  });

  it("lets exactly one of many concurrent takers in at a time when they all find a dead holder's lock", async () => {
    const holder = await holdLock();
    await holder.kill();
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withFileLock(hostsFile(), { timeoutMs: 10_000, staleMs: 30_000 }, async () => {
          most = Math.max(most, ++inside);
          await new Promise((r) => setTimeout(r, 2));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(await snapshot()).toMatchObject({ entries: ["hosts.json"] });
  });

  it("keeps all 50 hosts when two processes take over a dead holder's lock at once and each add 25", async () => {
    const holder = await holdLock();
    await holder.kill();
    const writers = [startWriter("p"), startWriter("q")];
    await Promise.all(writers.map((w) => w.ready));
    for (const w of writers) w.child.stdin!.write("go\n");
    expect(await Promise.all(writers.map((w) => w.done))).toEqual([
      { code: 0, stderr: "" },
      { code: 0, stderr: "" },
    ]);
    const ids = (JSON.parse(await readFile(hostsFile(), "utf8")) as { hosts: Array<{ host_id: string }> }).hosts.map((h) => h.host_id);
    expect(new Set(ids).size).toBe(50);
    expect(await snapshot()).toMatchObject({ entries: ["hosts.json"] });
  }, 30_000);

  it("is released after a failed write", async () => {
    const store = makeStore();
    await store.add(WEB);
    await expect(store.add(WEB)).rejects.toBeInstanceOf(DuplicateHostError);
    await expect(store.remove("nope")).rejects.toBeInstanceOf(HostNotFoundError);
    expect(await snapshot()).toMatchObject({ entries: ["hosts.json"] });
  });
});

describe("atomic writes", () => {
  it("replaces the file in one step with the requested mode", async () => {
    await mkdir(dir);
    const file = join(dir, "f.json");
    await writeFile(file, "old", { mode: 0o644 });
    await writeFileAtomic(file, "new", 0o600);
    expect(await readFile(file, "utf8")).toBe("new");
    if (POSIX) expect(await mode(file)).toBe(0o600);
    expect(await readdir(dir)).toEqual(["f.json"]);
  });

  it("leaves no temp file behind when the rename fails", async () => {
    // A non-empty directory where the file should be makes rename() fail after the temp file is written.
    const target = join(dir, "hosts.json");
    await mkdir(join(target, "inside"), { recursive: true });
    await expect(writeFileAtomic(target, "data", 0o600)).rejects.toThrow();
    expect(await readdir(dir)).toEqual(["hosts.json"]);
  });
});

/** Rebuild build/ when any compiled file the writer script imports is missing or older than its source. */
function ensureBuilt(): void {
  const sources = [
    ...readdirSync(join(ROOT, "src/hosts")).map((f) => `hosts/${f}`),
    "errors.ts",
    "ssh/host-key.ts",
  ].filter((f) => f.endsWith(".ts"));
  const stale = sources.some((f) => {
    const built = join(ROOT, "build", f.replace(/\.ts$/, ".js"));
    return !existsSync(built) || statSync(built).mtimeMs < statSync(join(ROOT, "src", f)).mtimeMs;
  });
  if (!stale) return;
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  // Exit status ignored: tsc still emits when someone else's file has a type error; the writer only needs our modules.
  spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: ROOT, stdio: "ignore" });
  if (!existsSync(join(ROOT, "build/hosts/host-store.js"))) throw new Error("tsc did not produce build/hosts/host-store.js");
}

/** Spawn the writer script adding `<prefix>-0..24`; resolves `ready` when it waits for "go", `done` when it exits. */
function startWriter(prefix: string): {
  child: ChildProcess;
  ready: Promise<void>;
  done: Promise<{ code: number | null; stderr: string }>;
} {
  const child = spawn(process.execPath, [WRITER, dir, prefix, "25"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<void>((resolveReady, reject) => {
    child.stdout!.once("data", () => resolveReady());
    child.once("exit", (code) => reject(new Error(`writer ${prefix} exited early (${code}): ${stderr}`)));
  });
  const done = new Promise<{ code: number | null; stderr: string }>((resolveDone) =>
    child.once("exit", (code) => resolveDone({ code, stderr })),
  );
  return { child, ready, done };
}

describe("sudoPassword", () => {
  const SUDO: HostInput = { host_id: "web", host: "10.0.0.5", username: "deploy", keyPath: "~/id_test", sudoPassword: "s3cret-sudo" };

  it("is stored like password, cleared with an empty string, and never quoted in an error", async () => {
    const store = makeStore();
    await store.add(SUDO);
    expect(JSON.parse(await readFile(hostsFile(), "utf8")).hosts[0].sudoPassword).toBe("s3cret-sudo");
    const bad = await store.edit("web", { sudoPassword: "line\nbreak-s3cret" }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InvalidHostError);
    expect((bad as Error).message).toBe("Invalid sudoPassword: must not contain a line break or NUL.");
    expect((await store.edit("web", { sudoPassword: "" })).host).not.toHaveProperty("sudoPassword");
  });

  it("is removed, like password, when the host is pointed at another account or machine", async () => {
    const store = makeStore();
    await store.add(SUDO);
    const edit = await store.edit("web", { username: "root" });
    expect(edit.host).not.toHaveProperty("sudoPassword");
    expect(edit.removed).toEqual([{ field: "sudoPassword", because: ["username"] }]);
  });
});
