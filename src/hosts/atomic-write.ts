import { randomBytes } from "node:crypto";
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** Replace `file` with `data` atomically: a temp file in the same directory with `mode`, fsynced, renamed over it; the temp file never outlives a failure. */
export async function writeFileAtomic(file: string, data: string, mode: number): Promise<void> {
  const dir = dirname(file);
  // Same directory, so rename() stays within one filesystem and is atomic; the leading dot keeps it out of sight.
  const temp = join(dir, `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, "wx", mode);
    // open()'s mode is filtered by the umask; set it exactly.
    await handle.chmod(mode);
    await handle.writeFile(data, "utf8");
    // Without fsync a crash after rename can leave an empty hosts.json on some filesystems.
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, file);
  } catch (error) {
    await handle?.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
  await syncDir(dir);
}

/** Persist the rename itself; best effort, since not every platform can fsync a directory. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows cannot open a directory; the file itself is already durable.
  }
}
