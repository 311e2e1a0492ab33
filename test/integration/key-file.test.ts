// The key file is read again on every connect, so what it names may have changed since add-host.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CredentialsError } from "../../src/lib.js";
import { testRuntime, type TestRuntime } from "../support/runtime.js";
import { startSshd, type TestSshd } from "../support/sshd.js";

let sshd: TestSshd;
let rt: TestRuntime;
let key: string;

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.cleanup();
});
beforeEach(async () => {
  rt = testRuntime(sshd);
  key = join(rt.home, "id_swapped");
  copyFileSync(sshd.keyPath, key);
  await rt.addHost("k", { keyPath: key });
});
afterEach(async () => {
  await rt.dispose();
});

/** start-session's error after the key file was swapped for something else, and how long it took. */
async function startAfterSwap(swap: () => void): Promise<{ error: unknown; ms: number }> {
  rmSync(key);
  swap();
  const started = Date.now();
  const error = await rt.sessions.start("k").then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - started };
}

function expectKeyError(error: unknown, message: RegExp): void {
  expect(error).toBeInstanceOf(CredentialsError);
  expect((error as Error).message).toMatch(message);
  expect((error as Error).message).toMatch(/edit-host/);
}

describe("reading the key file on connect", () => {
  it("refuses a file swapped for a FIFO at once instead of blocking", async () => {
    const { error, ms } = await startAfterSwap(() => execFileSync("mkfifo", [key]));
    expectKeyError(error, /not a regular file/);
    expect(ms).toBeLessThan(3000);
  }, 10_000);

  it.runIf(existsSync("/dev/zero"))("refuses a file swapped for a link to /dev/zero without reading it", async () => {
    const { error, ms } = await startAfterSwap(() => symlinkSync("/dev/zero", key));
    expectKeyError(error, /not a regular file/);
    expect(ms).toBeLessThan(3000);
  }, 10_000);

  it("refuses a file that grew past 64 KiB, reading only the start", async () => {
    const { error, ms } = await startAfterSwap(() => {
      writeFileSync(key, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
      truncateSync(key, 1024 ** 2);
    });
    expectKeyError(error, /larger than 64 KiB/);
    expect(ms).toBeLessThan(3000);
  });

  it("refuses a public key with a hint to give the private one", async () => {
    const { error } = await startAfterSwap(() => copyFileSync(sshd.keyPath + ".pub", key));
    expectKeyError(error, /public key.*not the \.pub/);
  });
});
