import { constants, type Stats } from "node:fs";
import { lstat, mkdir, open, realpath, stat, type FileHandle } from "node:fs/promises";
import { userInfo } from "node:os";
import { quoteForShell as q } from "../errors.js";
import { UnsafePathError } from "./host-errors.js";

// Windows has no POSIX owners or permission bits, nor O_NOFOLLOW.
const POSIX = process.platform !== "win32";
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const DIRECTORY = constants.O_DIRECTORY ?? 0;
// Opening a named pipe would otherwise block until a writer comes; on a regular file it changes nothing.
const NONBLOCK = constants.O_NONBLOCK ?? 0;

/** What the checks found about a path that passed them. */
export interface PathCheck {
  /** Permission bits, e.g. 0o600. */
  mode: number;
  /** Group or others may read it: worth a warning for what may hold passwords. */
  readableByOthers: boolean;
  /** For a directory reached through a symbolic link: where the link points. */
  linkTarget?: string;
}

/** How to fix loose modes, as chmod's argument: "700" for a directory, "600" for a file of secrets, "go-w" otherwise. */
export type FixMode = "700" | "600" | "go-w";

/**
 * Check, changing nothing, that `dir` can be trusted as ssh-mcp's private directory, as OpenSSH's
 * StrictModes would: ours or root's, and no one else may write it. A symbolic link is followed, as
 * OpenSSH follows ~/.ssh, only when its target passes the same checks (people keep dotfiles on other
 * volumes); the target's modes are never changed through it. Null when `dir` does not exist.
 */
export async function checkPrivateDir(dir: string): Promise<PathCheck | null> {
  let stats: Stats;
  try {
    stats = await lstat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  if (!stats.isSymbolicLink()) {
    if (!stats.isDirectory()) throw new UnsafePathError(dir, "is not a directory", `Move it away; ssh-mcp creates ${dir} itself.`);
    const problem = trustProblem(stats);
    if (problem) throw new UnsafePathError(dir, problem.what, problem.fix(dir, "700"));
    return describe(stats);
  }

  const replace = `Point the link at a private directory of yours, or replace it with one: rm ${q(dir)} && mkdir -m 700 ${q(dir)}`;
  let target: string;
  try {
    target = await realpath(dir);
    stats = await stat(target);
  } catch {
    throw new UnsafePathError(dir, "is a symbolic link to nothing", replace);
  }
  if (!stats.isDirectory()) throw new UnsafePathError(dir, `is a symbolic link to ${target}, which is not a directory`, replace);
  const problem = trustProblem(stats);
  if (problem) throw new UnsafePathError(dir, `is a symbolic link to ${target}, which ${problem.what}`, replace);
  return { ...describe(stats), linkTarget: target };
}

/**
 * For writing: create `dir` 0700 if missing (with parents), refuse it if it cannot be trusted, and
 * tighten a real directory that others may read to 0700, through a descriptor opened without following
 * links so that nothing else can be chmod'ed. `tightened` says whether it did.
 */
export async function ensurePrivateDir(dir: string): Promise<{ check: PathCheck; tightened: boolean }> {
  let check = await checkPrivateDir(dir);
  if (check === null) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    check = await checkPrivateDir(dir);
    if (check === null) throw new UnsafePathError(dir, "vanished right after it was created", "Try again.");
  }
  if (!POSIX || !check.readableByOthers || check.linkTarget !== undefined) return { check, tightened: false };
  const handle = await open(dir, constants.O_RDONLY | DIRECTORY | NOFOLLOW);
  try {
    // Check the descriptor itself: the path may have been swapped since checkPrivateDir.
    const stats = await handle.stat();
    const problem = trustProblem(stats);
    if (problem) throw new UnsafePathError(dir, problem.what, problem.fix(dir, "700"));
    await handle.chmod(0o700);
  } finally {
    await handle.close();
  }
  return { check: { ...check, mode: 0o700, readableByOthers: false }, tightened: true };
}

/**
 * Open `file` with `flags` (plus O_NOFOLLOW unless `followLink`) and check the opened file itself: a
 * regular file, ours or root's, that no one else may write. A symbolic link is refused by default: a
 * file we write through one would be written (or chmod'ed) wherever it points. Null when missing
 * (and not created by `flags`).
 */
export async function openPrivateFile(
  file: string,
  flags: number,
  options: { fixMode: FixMode; createMode?: number; followLink?: boolean },
): Promise<{ handle: FileHandle; check: PathCheck } | null> {
  let handle: FileHandle;
  try {
    handle = await open(file, flags | NONBLOCK | (options.followLink ? 0 : NOFOLLOW), options.createMode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    // O_NOFOLLOW makes open() fail with ELOOP (EMLINK on some BSDs) on a symbolic link.
    if ((code === "ELOOP" || code === "EMLINK") && (await isSymlink(file))) throw await symlinkError(file, options.fixMode);
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new UnsafePathError(file, "is not a regular file", `Move it away.`);
    const problem = trustProblem(stats);
    if (problem) throw new UnsafePathError(file, problem.what, problem.fix(file, options.fixMode));
    return { handle, check: describe(stats) };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** "0644"-style text for messages ("1777" with the sticky bit). */
export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

function describe(stats: Stats): PathCheck {
  return { mode: stats.mode & 0o7777, readableByOthers: POSIX && (stats.mode & 0o044) !== 0 };
}

/** Why `stats` cannot be trusted (as OpenSSH's StrictModes judges: owner and write bits), with the command that fixes it. */
function trustProblem(stats: Stats): { what: string; fix: (path: string, mode: FixMode) => string } | null {
  if (!POSIX) return null;
  const uid = process.getuid!();
  if (stats.uid !== uid && stats.uid !== 0) {
    const me = userName(uid);
    return {
      what: `belongs to uid ${stats.uid}, not to you (${me ?? `uid ${uid}`})${uid === 0 ? "" : " or root"}`,
      fix: (path) => `If it is yours, fix it with: sudo chown ${me ?? uid} ${q(path)}; otherwise move it away.`,
    };
  }
  if ((stats.mode & 0o022) !== 0) {
    return {
      what: `is writable by other users (mode ${formatMode(stats.mode)})`,
      fix: (path, mode) => `Fix it with: chmod ${mode} ${q(path)}`,
    };
  }
  return null;
}

/** Our login name, or undefined without a passwd entry (some containers), where the uid will do. */
function userName(uid: number): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return uid === 0 ? "root" : undefined;
  }
}

async function isSymlink(path: string): Promise<boolean> {
  return lstat(path).then(
    (stats) => stats.isSymbolicLink(),
    () => false,
  );
}

async function symlinkError(file: string, fixMode: FixMode): Promise<UnsafePathError> {
  const target = await realpath(file).catch(() => undefined);
  if (target === undefined) {
    return new UnsafePathError(file, "is a symbolic link to nothing", `ssh-mcp does not follow links for its files. Remove it: rm ${q(file)}`);
  }
  const copy = `${file}.new`;
  return new UnsafePathError(
    file,
    `is a symbolic link to ${target}`,
    `ssh-mcp does not follow links for its own files, so that it never writes or changes modes elsewhere. ` +
      `Replace the link with a copy of the file: cp ${q(target)} ${q(copy)} && chmod ${fixMode} ${q(copy)} && mv ${q(copy)} ${q(file)}`,
  );
}
