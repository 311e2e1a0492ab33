import { randomBytes } from "node:crypto";
import { lstat, mkdir, readFile, readdir, rename, rmdir, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { HostStoreIoError, HostStoreLockError } from "./host-errors.js";

/** How long to wait for the lock, and when a lock whose holder cannot be checked (another machine) counts as left behind. */
export interface FileLockOptions {
  timeoutMs: number;
  staleMs: number;
}

/** Who holds a lock: enough to tell, on this machine, whether that process still runs, even after its pid is reused. */
interface HolderRecord {
  pid: number;
  host: string;
  /** Process start time in clock ticks since boot (Linux /proc/<pid>/stat field 22); absent elsewhere. */
  start?: string;
}

/** A lock found held: by whom, whether that holder is gone, and how to remove exactly its lock. */
interface Holder {
  pid?: number;
  dead: boolean;
  remove(): Promise<void>;
}

/**
 * Run `fn` holding the exclusive cross-process lock `${file}.lock`; throws HostStoreLockError after `timeoutMs`.
 *
 * The lock is a directory holding one file named by its holder's random nonce, recording the holder.
 * It is taken by renaming a prepared directory onto `${file}.lock`: rename() onto a missing or empty
 * directory succeeds and onto a non-empty one fails, so exactly one taker wins. A dead holder's lock is
 * broken by unlinking that holder's own file, by its unique name: a breaker that acts late can only
 * ever remove the lock it judged dead, never a newer holder's, so two breakers cannot both win.
 */
export async function withFileLock<T>(file: string, options: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  const lockDir = `${file}.lock`;
  const nonce = await acquire(file, lockDir, options);
  try {
    return await fn();
  } finally {
    await unlink(join(lockDir, nonce)).catch(() => {});
    // Fails harmlessly if another process has already renamed its lock onto the emptied directory.
    await rmdir(lockDir).catch(() => {});
  }
}

/** Take the lock; returns the nonce naming our holder file in it. */
async function acquire(file: string, lockDir: string, { timeoutMs, staleMs }: FileLockOptions): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const nonce = randomBytes(12).toString("hex");
  for (;;) {
    if (await tryTake(lockDir, nonce)) return nonce;
    const holder = await inspect(lockDir, staleMs);
    if (holder?.dead) {
      await holder.remove();
      continue;
    }
    if (Date.now() >= deadline) {
      throw new HostStoreLockError(file, { lockFile: lockDir, timeoutMs, ...(holder?.pid !== undefined && { holderPid: holder.pid }) });
    }
    // Randomised so that waiting processes do not retry in lockstep.
    await sleep(5 + Math.random() * 20);
  }
}

/** Prepare a private directory holding our holder record and rename it onto the lock; false while someone else holds it. */
async function tryTake(lockDir: string, nonce: string): Promise<boolean> {
  // Made afresh for each attempt, so a process that dies while waiting leaves nothing behind.
  const prepared = join(dirname(lockDir), `.${basename(lockDir)}.${nonce}.tmp`);
  await prepare(prepared, nonce, lockDir);
  try {
    await rename(prepared, lockDir);
    return true;
  } catch (error) {
    await unlink(join(prepared, nonce)).catch(() => {});
    await rmdir(prepared).catch(() => {});
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTEMPTY/EEXIST: held. ENOTDIR: a lock file left by an older ssh-mcp, which inspect() handles.
    if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR") return false;
    throw new HostStoreIoError(lockDir, "take lock", error);
  }
}

/** A private directory holding our holder record, ready to be renamed into place. */
async function prepare(prepared: string, nonce: string, lockDir: string): Promise<void> {
  const start = await ownStart();
  const record: HolderRecord = { pid: process.pid, host: hostname(), ...(start !== undefined && { start }) };
  try {
    await mkdir(prepared, { mode: 0o700 });
    await writeFile(join(prepared, nonce), `${JSON.stringify(record)}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    await rmdir(prepared).catch(() => {});
    throw new HostStoreIoError(lockDir, "create lock", error);
  }
}

/** Who holds the lock now; null when it is free again (retry at once). */
async function inspect(lockDir: string, staleMs: number): Promise<Holder | null> {
  let names: string[];
  try {
    names = await readdir(lockDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ENOTDIR") return inspectLegacy(lockDir, staleMs);
    throw new HostStoreIoError(lockDir, "check lock", error);
  }
  if (names.length === 0) return null;
  const name = names[0]!;
  const path = join(lockDir, name);
  const remove = () => unlink(path).catch(ignoreMissing(lockDir));
  let record: HolderRecord | undefined;
  let ageMs: number;
  try {
    ageMs = Date.now() - (await lstat(path)).mtimeMs;
    record = parseRecord(await readFile(path, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new HostStoreIoError(lockDir, "check lock", error);
  }
  const state = record ? await holderState(record) : "unknown";
  return { ...(record && { pid: record.pid }), dead: state === "dead" || (state === "unknown" && ageMs > staleMs), remove };
}

/**
 * A lock file (not directory) from an older ssh-mcp, holding just a pid. Removing it can race only
 * with another older ssh-mcp: our own takers cannot rename onto a file, nor can unlink() remove a directory.
 */
async function inspectLegacy(lockFile: string, staleMs: number): Promise<Holder | null> {
  try {
    const ageMs = Date.now() - (await lstat(lockFile)).mtimeMs;
    const pid = Number.parseInt(await readFile(lockFile, "utf8"), 10);
    const valid = Number.isInteger(pid) && pid > 0;
    const dead = ageMs > staleMs || (valid && (await holderState({ pid, host: hostname() })) === "dead");
    return { ...(valid && { pid }), dead, remove: () => unlink(lockFile).catch(ignoreMissing(lockFile)) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new HostStoreIoError(lockFile, "check lock", error);
  }
}

/** Whether the recorded process still runs; "unknown" when it ran on another machine (a shared home). */
async function holderState(record: HolderRecord): Promise<"alive" | "dead" | "unknown"> {
  if (record.host !== hostname()) return "unknown";
  try {
    process.kill(record.pid, 0);
  } catch (error) {
    // EPERM: it runs, as another user.
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return "dead";
  }
  // Same pid, different start time: the holder died and its pid went to another process.
  if (record.start !== undefined) {
    const start = await startTimeOf(record.pid);
    if (start !== undefined && start !== record.start) return "dead";
  }
  return "alive";
}

function parseRecord(text: string): HolderRecord | undefined {
  try {
    const data = JSON.parse(text) as Partial<HolderRecord>;
    if (!Number.isInteger(data.pid) || (data.pid as number) <= 0 || typeof data.host !== "string") return undefined;
    return { pid: data.pid as number, host: data.host, ...(typeof data.start === "string" && { start: data.start }) };
  } catch {
    return undefined;
  }
}

let ownStartTime: Promise<string | undefined> | undefined;
function ownStart(): Promise<string | undefined> {
  ownStartTime ??= startTimeOf(process.pid);
  return ownStartTime;
}

/** Start time of `pid` from /proc (Linux); undefined where there is no /proc or the process is gone. */
async function startTimeOf(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses; fields after the last ')' start at field 3.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function ignoreMissing(path: string): (error: unknown) => void {
  return (error) => {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new HostStoreIoError(path, "remove stale lock", error);
  };
}
