import { createHash, randomBytes } from "node:crypto";
import { link, open, rename, stat, unlink } from "node:fs/promises";
import { dirname, basename, posix } from "node:path";
import type { Client } from "ssh2";
import { SerialQueue } from "../serial-queue.js";
import { cwdScript } from "../session/shell-script.js";
import { parseRemotePath, resolveLocalPath, underDir } from "./file-paths.js";
import {
  BinaryFileError,
  CwdUnknownError,
  DiskFullError,
  FileExistsError,
  FileNotFoundError,
  FileOperationError,
  FileTooLargeError,
  InvalidEditError,
  NotAFileError,
  NotUtf8Error,
  SftpUnavailableError,
} from "./file-errors.js";
import { fileError, SFTP_NO_SUCH_FILE, SFTP_PERMISSION_DENIED } from "./map-error.js";
import { Sftp, type Stats } from "./sftp.js";
import { applyEdit } from "./text-edit.js";
import { TextPager, type TextPage } from "./text-page.js";
import { LocalWriter, readRemote, writeRemote } from "./transfer.js";

/** Largest file read-file scans and edit-file rewrites; beyond it, download. */
export const MAX_TEXT_FILE_BYTES = 16 * 1024 * 1024;
/** Lines read-file returns when no limit is given. */
export const DEFAULT_READ_LINES = 2000;
/** Bytes of a read-file reply kept for the note after the page, besides the path it names. */
const NOTE_RESERVE = 300;
/** How long the lsof fallback for the shell's directory may take. */
const CWD_PROBE_MS = 5000;

/** What a session lends its files: the connection, and its shell's pid for the current directory. */
export interface RemoteFilesOptions {
  client: Client;
  shellPid: number;
  sessionId: string;
  /** Most bytes of text one read-file page holds. */
  maxTextBytes: number;
  /** Where ~ in local paths points. */
  homeDir: string;
  /** Told +1 when an operation starts and -1 when it ends, so a long transfer is not idleness. */
  busy?: (delta: number) => void;
}

/** A page of a text file, with its resolved path. */
export interface ReadResult extends TextPage {
  path: string;
}

export interface WriteResult {
  path: string;
  bytes: number;
  created: boolean;
}

export interface EditResult {
  path: string;
  replacements: number;
  bytes: number;
}

export interface TransferResult {
  /** The remote file, absolute. */
  path: string;
  /** The local file, absolute. */
  localPath: string;
  bytes: number;
  sha256: string;
}

export interface TransferOptions {
  overwrite?: boolean;
  /** Bytes done of total, as they complete. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** A regular file that exists, and the file to replace for it (a symlink's target). */
interface Existing {
  stats: Stats;
  realPath: string;
}

/** How a new file is put in place (see placeAtomically). */
interface Placement {
  /** Mode to set exactly; without it a new file gets the server's default. */
  mode?: number;
  /** Owner to keep, where the login may. */
  owner?: { uid: number; gid: number };
  /** Replace an existing file; without it the target must not exist. */
  replace: boolean;
  /** Bytes about to be written, to tell a full disk from other failures. */
  size: number;
  /**
   * Flush to disk before the rename, so a crash cannot leave an empty file in place of a good
   * one. For edited text (configuration); transfers skip it, as scp does: flushing hundreds of
   * megabytes costs more than the copy, and a copy can be made again and checked by its SHA-256.
   */
  durable: boolean;
}

/**
 * A session's files over SFTP on its own connection (no new login). The channel opens on first
 * use and is reused; operations run one at a time, beside the session's commands. Relative
 * remote paths start at the shell's current directory, read as it is now.
 */
export class RemoteFiles {
  private readonly queue = new SerialQueue();
  private sftp: Promise<Sftp> | undefined;
  private home: string | undefined;

  constructor(private readonly options: RemoteFilesOptions) {}

  /** The absolute remote path an argument names now (see resolveRemote), for a decision taken before the operation. */
  resolve(path: string, argument: string): Promise<string> {
    return this.run((sftp) => this.resolveRemote(sftp, path, argument));
  }

  /** A page of lines of a UTF-8 text file; refuses binary, invalid UTF-8 and files over MAX_TEXT_FILE_BYTES. */
  read(path: string, page: { offset?: number; limit?: number } = {}): Promise<ReadResult> {
    return this.run(async (sftp) => {
      const target = await this.resolveRemote(sftp, path, "path");
      const stats = await this.statFile(sftp, target);
      if (stats.size > MAX_TEXT_FILE_BYTES) throw new FileTooLargeError(target, stats.size, MAX_TEXT_FILE_BYTES);
      const pager = new TextPager(target, {
        offset: page.offset ?? 1,
        limit: page.limit ?? DEFAULT_READ_LINES,
        // Room for the note that follows a page (it names the path), so the whole reply stays within the cap.
        maxBytes: Math.max(64, this.options.maxTextBytes - NOTE_RESERVE - Buffer.byteLength(target)),
      });
      await this.withHandle(sftp, target, (handle) =>
        readRemote(sftp, handle, stats.size, (chunk, release) => {
          pager.push(chunk); // copies what it keeps
          release();
        }),
      );
      return { path: target, ...pager.finish() };
    });
  }

  /** Create or replace a file with `content`, atomically; an existing file keeps its mode and owner unless `mode` is given. */
  write(path: string, content: string, options: { mode?: number; createDirs?: boolean } = {}): Promise<WriteResult> {
    return this.run(async (sftp) => {
      const target = await this.resolveRemote(sftp, path, "path");
      if (options.createDirs) await this.makeDirs(sftp, posix.dirname(target));
      const existing = await this.existing(sftp, target);
      const data = Buffer.from(content, "utf8");
      await this.placeAtomically(sftp, existing?.realPath ?? target, this.keep(existing, options.mode, data.length, true), (handle) =>
        sftp.write(handle, data, 0),
      );
      return { path: target, bytes: data.length, created: !existing };
    });
  }

  /** Replace `oldText` exactly once (or every time with `replaceAll`), atomically, keeping mode and owner. */
  edit(path: string, oldText: string, newText: string, replaceAll = false): Promise<EditResult> {
    if (oldText === "") return Promise.reject(new InvalidEditError("old_text is empty: give the exact text to replace (read-file shows it)."));
    if (oldText === newText) return Promise.reject(new InvalidEditError("old_text and new_text are the same: there is nothing to change."));
    return this.run(async (sftp) => {
      const target = await this.resolveRemote(sftp, path, "path");
      const existing = await this.existing(sftp, target);
      if (!existing) throw new FileNotFoundError(target, "remote");
      if (existing.stats.size > MAX_TEXT_FILE_BYTES) throw new FileTooLargeError(target, existing.stats.size, MAX_TEXT_FILE_BYTES);
      const text = await this.readText(sftp, target, existing.stats.size);
      const edit = applyEdit(target, text, oldText, newText, replaceAll);
      const data = Buffer.from(edit.text, "utf8");
      if (data.length > MAX_TEXT_FILE_BYTES) throw new FileTooLargeError(target, data.length, MAX_TEXT_FILE_BYTES);
      await this.placeAtomically(sftp, existing.realPath, this.keep(existing, undefined, data.length, true), (handle) =>
        sftp.write(handle, data, 0),
      );
      return { path: target, replacements: edit.replacements, bytes: data.length };
    });
  }

  /** Stream a local file to the host, keeping its mode; never leaves a partial file at the target. */
  upload(localPath: string, remotePath: string, options: TransferOptions = {}): Promise<TransferResult> {
    const local = resolveLocalPath(localPath, "local_path", this.options.homeDir);
    return this.run(async (sftp) => {
      const target = await this.resolveRemote(sftp, remotePath, "remote_path");
      const source = await open(local, "r").catch((error: unknown) => {
        throw fileError(error, local, "local", "read");
      });
      try {
        const stats = await source.stat();
        if (stats.isDirectory()) throw new NotAFileError(local, "local", "a directory");
        if (!stats.isFile()) throw new NotAFileError(local, "local", "not a regular file");
        const existing = await this.existing(sftp, target);
        if (existing && !options.overwrite) throw new FileExistsError(target, "remote");
        const hash = createHash("sha256");
        let bytes = 0;
        const placement = { ...this.keep(existing, stats.mode & 0o7777, stats.size, options.overwrite === true), durable: false };
        await this.placeAtomically(sftp, existing?.realPath ?? target, placement, async (handle) => {
          bytes = await writeRemote(
            sftp,
            handle,
            source,
            (chunk) => void hash.update(chunk),
            (done) => options.onProgress?.(done, stats.size),
            options.signal,
          );
        });
        return { path: target, localPath: local, bytes, sha256: hash.digest("hex") };
      } finally {
        await source.close();
      }
    });
  }

  /** Stream a remote file to this machine, with the remote file's permission bits; never leaves a partial file. */
  download(remotePath: string, localPath: string, options: TransferOptions = {}): Promise<TransferResult> {
    const local = resolveLocalPath(localPath, "local_path", this.options.homeDir);
    return this.run(async (sftp) => {
      const source = await this.resolveRemote(sftp, remotePath, "remote_path");
      const stats = await this.statFile(sftp, source);
      await checkLocalTarget(local, options.overwrite === true);
      const temp = tempName(local, dirname, basename);
      const sink = await open(temp, "wx", 0o600).catch((error: unknown) => {
        throw fileError(error, dirname(local), "local", "create files in");
      });
      let closed = false;
      const writer = new LocalWriter(sink);
      try {
        const hash = createHash("sha256");
        let bytes = 0;
        await this.withHandle(sftp, source, (handle) =>
          readRemote(
            sftp,
            handle,
            stats.size,
            async (chunk, release) => {
              hash.update(chunk);
              const at = bytes;
              bytes += chunk.length;
              await writer.write(chunk, at, release).catch((error: unknown) => {
                throw fileError(error, local, "local", "write");
              });
              options.onProgress?.(bytes, stats.size);
            },
            options.signal,
          ),
        );
        await writer.flush().catch((error: unknown) => {
          throw fileError(error, local, "local", "write");
        });
        await sink.chmod(stats.mode & 0o777);
        await sink.close();
        closed = true;
        await placeLocal(temp, local, options.overwrite === true);
        return { path: source, localPath: local, bytes, sha256: hash.digest("hex") };
      } catch (error) {
        await writer.flush().catch(() => undefined);
        if (!closed) await sink.close().catch(() => undefined);
        await unlink(temp).catch(() => undefined);
        throw error;
      }
    });
  }

  /** Close the SFTP channel (the session is ending). */
  close(): void {
    const open = this.sftp;
    this.sftp = undefined;
    void open?.then((sftp) => sftp.end()).catch(() => undefined);
  }

  private run<T>(task: (sftp: Sftp) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      this.options.busy?.(+1);
      try {
        return await task(await this.channel());
      } finally {
        this.options.busy?.(-1);
      }
    });
  }

  private channel(): Promise<Sftp> {
    if (this.sftp) return this.sftp;
    const opening: Promise<Sftp> = Sftp.open(this.options.client).then(
      (sftp) => {
        // Closed under us (by the server, say): the next operation opens a new one.
        sftp.onClose(() => {
          if (this.sftp === opening) this.sftp = undefined;
        });
        return sftp;
      },
      (error: unknown) => {
        this.sftp = undefined;
        const reason = error instanceof Error ? error.message : String(error);
        throw new SftpUnavailableError(this.options.sessionId, reason, { cause: error });
      },
    );
    this.sftp = opening;
    return opening;
  }

  /** An absolute remote path for an argument: as given, under the home, or under the shell's current directory. */
  private async resolveRemote(sftp: Sftp, path: string, argument: string): Promise<string> {
    const parsed = parseRemotePath(path, argument);
    if (parsed.base === "absolute") return parsed.path;
    if (parsed.base === "home") return underDir(await this.homeDir(sftp), parsed.rest);
    return underDir(await this.currentDir(sftp, path), parsed.rest);
  }

  private async homeDir(sftp: Sftp): Promise<string> {
    // sftp-server starts in the login's home directory.
    this.home ??= await sftp.realpath(".");
    return this.home;
  }

  /** The shell's current directory now, even while a command runs: /proc on Linux, else lsof. */
  private async currentDir(sftp: Sftp, path: string): Promise<string> {
    try {
      return await sftp.realpath(`/proc/${this.options.shellPid}/cwd`);
    } catch {
      const probed = await this.probeCwd();
      if (probed) return probed;
      throw new CwdUnknownError(path);
    }
  }

  private probeCwd(): Promise<string | undefined> {
    return new Promise((resolve) => {
      try {
        this.options.client.exec(cwdScript(this.options.shellPid), (error, channel) => {
          if (error) return resolve(undefined);
          let out = "";
          const guard = setTimeout(() => channel.close(), CWD_PROBE_MS);
          channel.on("data", (chunk: Buffer) => {
            if (out.length < 64 * 1024) out += chunk.toString("utf8");
          });
          channel.stderr.resume();
          channel.on("close", () => {
            clearTimeout(guard);
            const line = out.split("\n").find((l) => l.startsWith("n/"));
            resolve(line?.slice(1));
          });
        });
      } catch {
        resolve(undefined);
      }
    });
  }

  /** The stats of a regular file that must exist. */
  private async statFile(sftp: Sftp, path: string): Promise<Stats> {
    const stats = await sftp.stat(path).catch((error: unknown) => {
      throw fileError(error, path, "remote", "read");
    });
    if (stats.isDirectory()) throw new NotAFileError(path, "remote", "a directory");
    if (!stats.isFile()) throw new NotAFileError(path, "remote", "not a regular file");
    return stats;
  }

  /** The file at `path` if there is one (a regular file: never a directory); through a symlink, its target. */
  private async existing(sftp: Sftp, path: string): Promise<Existing | undefined> {
    let stats: Stats;
    try {
      stats = await sftp.stat(path);
    } catch (error) {
      if ((error as { code?: unknown }).code === SFTP_NO_SUCH_FILE) return undefined;
      throw fileError(error, path, "remote", "look at");
    }
    if (stats.isDirectory()) throw new NotAFileError(path, "remote", "a directory");
    if (!stats.isFile()) throw new NotAFileError(path, "remote", "not a regular file");
    const link = await sftp.lstat(path);
    // Replace the file a symlink points to, and keep the link.
    const realPath = link.isSymbolicLink() ? await sftp.realpath(path) : path;
    await this.checkWritable(sftp, realPath);
    return { stats, realPath };
  }

  /**
   * A file the login may not write is not replaced, even where it may write the directory (a
   * rename would allow it). Opening for writing without truncating changes nothing; a running
   * program (ETXTBSY, a plain "Failure" over SFTP) is fine to replace by rename.
   */
  private async checkWritable(sftp: Sftp, path: string): Promise<void> {
    let handle: Buffer;
    try {
      handle = await sftp.open(path, "r+");
    } catch (error) {
      if ((error as { code?: unknown }).code === SFTP_PERMISSION_DENIED) throw fileError(error, path, "remote", "write");
      return;
    }
    await sftp.close(handle).catch(() => undefined);
  }

  /** What replacing `existing` keeps: its owner, and its mode unless one is given. */
  private keep(existing: Existing | undefined, mode: number | undefined, size: number, replace: boolean): Placement {
    return {
      durable: true,
      mode: mode ?? (existing ? existing.stats.mode & 0o7777 : undefined),
      owner: existing && { uid: existing.stats.uid, gid: existing.stats.gid },
      replace,
      size,
    };
  }

  /**
   * Write a new file next to `target` (a hidden temporary name in the same directory), then
   * rename it over `target`: readers see the old file or the new one, never a part. On any
   * failure the temporary file is removed and `target` is as it was.
   */
  private async placeAtomically(sftp: Sftp, target: string, placement: Placement, fill: (handle: Buffer) => Promise<void>): Promise<void> {
    const dir = posix.dirname(target);
    const temp = tempName(target, posix.dirname, posix.basename);
    let handle: Buffer | undefined;
    let doing = { path: dir, action: "create files in" };
    try {
      handle = await sftp.open(temp, "wx", placement.mode);
      doing = { path: target, action: "write" };
      // Owner first: chown clears set-id bits that chmod then restores.
      if (placement.owner) await sftp.fchown(handle, placement.owner.uid, placement.owner.gid).catch(() => undefined);
      if (placement.mode !== undefined) await sftp.fchmod(handle, placement.mode);
      await fill(handle);
      if (placement.durable) await sftp.fsync(handle);
      await sftp.close(handle);
      handle = undefined;
      doing = { path: target, action: "replace" };
      await sftp.rename(temp, target, placement.replace);
    } catch (error) {
      const mapped = await this.writeFailure(sftp, error, doing, target, placement);
      if (handle) await sftp.close(handle).catch(() => undefined);
      await sftp.unlink(temp).catch(() => undefined);
      throw mapped;
    }
  }

  /** Name the cause of a failed write; checked before the partial file is removed, while it still fills the disk. */
  private async writeFailure(
    sftp: Sftp,
    error: unknown,
    doing: { path: string; action: string },
    target: string,
    placement: Placement,
  ): Promise<Error> {
    const mapped = fileError(error, doing.path, "remote", doing.action);
    if (doing.action === "replace" && !placement.replace) {
      // The plain rename refuses an existing target: one appeared while we wrote.
      const appeared = await sftp.stat(target).then(
        () => true,
        () => false,
      );
      if (appeared) return new FileExistsError(target, "remote");
    }
    if (mapped instanceof FileOperationError) {
      const space = await sftp.space(posix.dirname(target));
      if (space && space.freeBytes < Math.max(placement.size, 1)) return new DiskFullError(target, "remote", { cause: error });
    }
    if (doing.action === "create files in" && mapped instanceof FileNotFoundError) {
      return new FileNotFoundError(doing.path, "remote", { cause: error, directory: true });
    }
    return mapped;
  }

  /** mkdir -p: create the missing directories of `dir`, from the top. */
  private async makeDirs(sftp: Sftp, dir: string): Promise<void> {
    const missing: string[] = [];
    for (let at = dir; ; at = posix.dirname(at)) {
      const stats = await sftp.stat(at).catch(() => undefined);
      if (stats) {
        if (!stats.isDirectory()) throw new NotAFileError(at, "remote", "not a directory");
        break;
      }
      missing.unshift(at);
      if (at === "/") break;
    }
    for (const path of missing) {
      await sftp.mkdir(path).catch((error: unknown) => {
        throw fileError(error, path, "remote", "create the directory");
      });
    }
  }

  /** A whole text file, checked like read-file checks it. */
  private async readText(sftp: Sftp, path: string, size: number): Promise<string> {
    const chunks: Buffer[] = [];
    const read = await this.withHandle(sftp, path, (handle) => readRemote(sftp, handle, size, (chunk) => void chunks.push(chunk)));
    const data = Buffer.concat(chunks, read);
    if (data.includes(0)) throw new BinaryFileError(path, data.length);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(data);
    } catch {
      throw new NotUtf8Error(path, data.length);
    }
  }

  private async withHandle<T>(sftp: Sftp, path: string, use: (handle: Buffer) => Promise<T>): Promise<T> {
    const handle = await sftp.open(path, "r").catch((error: unknown) => {
      throw fileError(error, path, "remote", "read");
    });
    try {
      return await use(handle).catch((error: unknown) => {
        throw fileError(error, path, "remote", "read");
      });
    } finally {
      await sftp.close(handle).catch(() => undefined);
    }
  }
}

/** A hidden name beside `path`, unique to this transfer. */
function tempName(path: string, dir: (p: string) => string, base: (p: string) => string): string {
  return `${dir(path)}/.${base(path)}.ssh-mcp-${randomBytes(6).toString("hex")}.part`;
}

async function checkLocalTarget(local: string, overwrite: boolean): Promise<void> {
  const stats = await stat(local).catch((error: unknown) => {
    if ((error as { code?: unknown }).code === "ENOENT") return undefined;
    throw fileError(error, local, "local", "look at");
  });
  if (!stats) return;
  if (stats.isDirectory()) throw new NotAFileError(local, "local", "a directory");
  if (!overwrite) throw new FileExistsError(local, "local");
  if (!stats.isFile()) throw new NotAFileError(local, "local", "not a regular file");
}

/** Move the finished temp file to `local`; without overwrite, link() refuses a file that appeared meanwhile. */
async function placeLocal(temp: string, local: string, overwrite: boolean): Promise<void> {
  try {
    if (overwrite) return await rename(temp, local);
    await link(temp, local);
    await unlink(temp);
  } catch (error) {
    throw fileError(error, local, "local", "create");
  }
}
