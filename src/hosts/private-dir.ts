import { chmod, mkdir, stat } from "node:fs/promises";

// Windows has no POSIX permission bits; chmod there only toggles read-only.
const POSIX_MODES = process.platform !== "win32";

/** Create `dir` (and parents) with mode 0700 if missing; returns true when an existing dir was looser and got tightened. */
export async function ensurePrivateDir(dir: string): Promise<boolean> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return tightenMode(dir, 0o700);
}

/** chmod `path` to `mode` if group or other have any access; returns true when it did. A missing path is left alone. */
export async function tightenMode(path: string, mode: number): Promise<boolean> {
  if (!POSIX_MODES) return false;
  let current: number;
  try {
    current = (await stat(path)).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  if ((current & 0o077) === 0) return false;
  await chmod(path, mode);
  return true;
}
