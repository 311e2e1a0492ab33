// keyPath is read by add-host/edit-host validation and again on every connect: whatever it names
// (a pipe, a device, a huge or endless file, a public key) must give a clear error at once.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidHostError } from "../../src/hosts/host-errors.js";
import { HostStore } from "../../src/hosts/host-store.js";
import { keygen } from "../support/sshd.js";

const POSIX = process.platform !== "win32";
let home: string;
let store: HostStore;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "ssh-mcp-keyfile-"));
  store = new HostStore({ dir: join(home, ".ssh-mcp"), homeDir: home, warn: () => undefined });
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/** add-host with this keyPath; the error it gives (or undefined), and how long it took. */
async function addWithKey(keyPath: string): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await store.add({ host_id: "k", host: "10.0.0.1", username: "u", keyPath }).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - started };
}

function expectKeyPathError(error: unknown, message: RegExp): void {
  expect(error).toBeInstanceOf(InvalidHostError);
  expect((error as InvalidHostError).field).toBe("keyPath");
  expect((error as Error).message).toMatch(message);
}

describe("keyPath validation", () => {
  it("accepts an OpenSSH private key, given with ~", async () => {
    keygen(join(home, "id_ed25519"));
    expect((await addWithKey("~/id_ed25519")).error).toBeUndefined();
  });

  it("accepts a PEM private key", async () => {
    await writeFile(join(home, "id_rsa"), "-----BEGIN RSA PRIVATE KEY-----\nMIIEow==\n-----END RSA PRIVATE KEY-----\n");
    expect((await addWithKey("~/id_rsa")).error).toBeUndefined();
  });

  it("refuses the .pub and says to give the private key instead", async () => {
    keygen(join(home, "id_ed25519"));
    const { error } = await addWithKey("~/id_ed25519.pub");
    expectKeyPathError(error, /public key.*private key file such as ~\/\.ssh\/id_ed25519, not the \.pub/);
  });

  it("refuses a file that is not a key, saying what was expected", async () => {
    await writeFile(join(home, "notes.txt"), "hello\n");
    expectKeyPathError((await addWithKey("~/notes.txt")).error, /does not look like a private key.*BEGIN/);
  });

  it("refuses a file over 64 KiB without reading all of it", async () => {
    const big = join(home, "big");
    await writeFile(big, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
    await truncate(big, 4 * 1024 ** 3); // sparse: 4 GiB that cost nothing on disk
    const { error, ms } = await addWithKey(big);
    expectKeyPathError(error, /larger than 64 KiB/);
    expect(ms).toBeLessThan(2000);
  });

  it.runIf(existsSync("/proc/self/pagemap"))("refuses an endless /proc file at once", async () => {
    const { error, ms } = await addWithKey("/proc/self/pagemap");
    expectKeyPathError(error, /larger than 64 KiB|not look like a private key|cannot be read/);
    expect(ms).toBeLessThan(2000);
  });

  it.runIf(POSIX)("refuses a FIFO without blocking on it", async () => {
    const fifo = join(home, "fifo");
    execFileSync("mkfifo", [fifo]);
    const { error, ms } = await addWithKey(fifo);
    expectKeyPathError(error, /not a regular file/);
    expect(ms).toBeLessThan(2000);
  }, 10_000);

  it.runIf(existsSync("/dev/zero"))("refuses a device", async () => {
    expectKeyPathError((await addWithKey("/dev/zero")).error, /not a regular file/);
  });

  it("refuses a directory", async () => {
    expectKeyPathError((await addWithKey("~")).error, /directory/);
  });

  it("refuses ~user/ paths, which would otherwise resolve against the working directory", async () => {
    const { error } = await addWithKey("~root/.ssh/id_ed25519");
    expectKeyPathError(error, /~root.*another user's home.*full path/);
    expect((error as Error).message).not.toContain(process.cwd());
  });
});
