import { randomBytes } from "node:crypto";
import { link, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { HostStoreIoError, HostStoreLockError } from "./host-errors.js";

/** How long to wait for the lock, and when a lock counts as left behind by a crashed writer. */
export interface FileLockOptions {
  timeoutMs: number;
  staleMs: number;
}

/** Run `fn` holding the exclusive cross-process lock `${file}.lock`; throws HostStoreLockError after `timeoutMs`. */
export async function withFileLock<T>(file: string, options: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  const lockFile = `${file}.lock`;
  await acquire(file, lockFile, options);
  try {
    return await fn();
  } finally {
    await unlink(lockFile).catch(() => {});
  }
}

async function acquire(file: string, lockFile: string, { timeoutMs, staleMs }: FileLockOptions): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await tryCreate(lockFile)) return;
    if (await removeIfStale(lockFile, staleMs)) continue;
    if (Date.now() >= deadline) {
      throw new HostStoreLockError(file, { lockFile, timeoutMs, ...(await holderPid(lockFile)) });
    }
    // Randomised so that waiting processes do not retry in lockstep.
    await sleep(5 + Math.random() * 20);
  }
}

/** Create the lock file exclusively ("wx" is atomic on local filesystems) with our pid; false if it already exists. */
async function tryCreate(lockFile: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(lockFile, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new HostStoreIoError(lockFile, "create lock file", error);
  }
  try {
    await handle.writeFile(`${process.pid}\n`, "utf8");
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(lockFile).catch(() => {});
    throw new HostStoreIoError(lockFile, "write lock file", error);
  }
  return true;
}

/** Remove the lock if older than `staleMs` (its writer crashed); true when the lock is gone and worth retrying at once. */
async function removeIfStale(lockFile: string, staleMs: number): Promise<boolean> {
  let seen;
  try {
    seen = await stat(lockFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw new HostStoreIoError(lockFile, "check lock file", error);
  }
  if (Date.now() - seen.mtimeMs <= staleMs) return false;

  // Two waiters may both see the same stale lock; if the other one has already replaced it with its own fresh lock,
  // a plain unlink here would delete that. Moving it aside first lets us check which file we actually took.
  const aside = `${lockFile}.${randomBytes(6).toString("hex")}.stale`;
  try {
    await rename(lockFile, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw new HostStoreIoError(lockFile, "remove stale lock file", error);
  }
  try {
    const taken = await stat(aside);
    if (taken.ino === seen.ino && taken.dev === seen.dev) return true;
    // It was a live lock: put it back (link fails if a third process locked meanwhile; nothing better to do then).
    await link(aside, lockFile).catch(() => {});
    return false;
  } finally {
    await unlink(aside).catch(() => {});
  }
}

async function holderPid(lockFile: string): Promise<{ holderPid?: number }> {
  try {
    const pid = Number.parseInt(await readFile(lockFile, "utf8"), 10);
    return Number.isInteger(pid) && pid > 0 ? { holderPid: pid } : {};
  } catch {
    return {};
  }
}
