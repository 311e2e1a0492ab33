import { Writable } from "node:stream";
import type { Client, SFTPWrapper, Stats } from "ssh2";

export type { Stats };

/** Free space on a remote filesystem, from the statvfs@openssh.com extension. */
export interface FsSpace {
  freeBytes: number;
}

/**
 * ssh2's SFTP client with promises. Errors are ssh2's own (an SFTP status `code`); callers map
 * them to our typed errors with the path and what they were doing (see map-error.ts).
 */
export class Sftp {
  private constructor(
    private readonly raw: SFTPWrapper,
    private readonly socket: Writable | undefined,
  ) {}

  /** Open the SFTP subsystem on a second channel of a connected client (no new login). */
  static open(client: Client): Promise<Sftp> {
    // ssh2 keeps its transport private; it is only corked here (see batch), never read or written.
    const socket = (client as unknown as { _sock?: unknown })._sock;
    const writable = socket instanceof Writable ? socket : undefined;
    return new Promise((resolve, reject) => {
      try {
        client.sftp((error, raw) => (error ? reject(error) : resolve(new Sftp(raw, writable))));
      } catch (error) {
        reject(error); // "Not connected"
      }
    });
  }

  /** Calls `listener` once the channel is gone (closed by us, the server or a lost connection). */
  onClose(listener: () => void): void {
    this.raw.once("close", listener);
  }

  /**
   * Send what `requests` issues in one write to the socket: ssh2 writes every SSH packet on its
   * own, and on loopback each write costs the sender the receiver's work too.
   */
  batch<T>(requests: () => T): T {
    this.socket?.cork();
    try {
      return requests();
    } finally {
      this.socket?.uncork();
    }
  }

  stat(path: string): Promise<Stats> {
    return call((cb) => this.raw.stat(path, cb));
  }

  lstat(path: string): Promise<Stats> {
    return call((cb) => this.raw.lstat(path, cb));
  }

  realpath(path: string): Promise<string> {
    return call((cb) => this.raw.realpath(path, cb));
  }

  /** Open with fopen-style flags ("r", "w", "wx"...) and, for a new file, `mode`. */
  open(path: string, flags: "r" | "r+" | "wx", mode?: number): Promise<Buffer> {
    return call((cb) => (mode === undefined ? this.raw.open(path, flags, cb) : this.raw.open(path, flags, { mode }, cb)));
  }

  close(handle: Buffer): Promise<void> {
    return call((cb) => this.raw.close(handle, cb));
  }

  /** Read up to `length` bytes at `position` into `buffer`; resolves with the count (0 at end of file). */
  read(handle: Buffer, buffer: Buffer, length: number, position: number): Promise<number> {
    return call<number>((cb) => this.raw.read(handle, buffer, 0, length, position, (error, bytes) => cb(error, bytes)));
  }

  write(handle: Buffer, buffer: Buffer, position: number): Promise<void> {
    return call((cb) => this.raw.write(handle, buffer, 0, buffer.length, position, cb));
  }

  fchmod(handle: Buffer, mode: number): Promise<void> {
    return call((cb) => this.raw.fchmod(handle, mode, cb));
  }

  fchown(handle: Buffer, uid: number, gid: number): Promise<void> {
    return call((cb) => this.raw.fchown(handle, uid, gid, cb));
  }

  /** Flush to disk where the server can (fsync@openssh.com); a no-op elsewhere. */
  async fsync(handle: Buffer): Promise<void> {
    try {
      await call((cb) => this.raw.ext_openssh_fsync(handle, cb));
    } catch (error) {
      if (!unsupported(error)) throw error;
    }
  }

  /**
   * Rename over an existing `to` atomically (posix-rename@openssh.com). Without `replace`, the
   * plain SFTP rename, which fails when `to` exists: nothing can appear there and be lost.
   */
  async rename(from: string, to: string, replace: boolean): Promise<void> {
    if (replace) {
      try {
        return await call((cb) => this.raw.ext_openssh_rename(from, to, cb));
      } catch (error) {
        if (!unsupported(error)) throw error;
        return this.replaceByMoves(from, to);
      }
    }
    await call((cb) => this.raw.rename(from, to, cb));
  }

  /** Servers without posix-rename: move the old file aside, put the new one in place, and undo on failure. */
  private async replaceByMoves(from: string, to: string): Promise<void> {
    const aside = `${from}.old`;
    const hadOld = await call((cb) => this.raw.rename(to, aside, cb)).then(
      () => true,
      () => false,
    );
    try {
      await call((cb) => this.raw.rename(from, to, cb));
    } catch (error) {
      if (hadOld) await call((cb) => this.raw.rename(aside, to, cb)).catch(() => undefined);
      throw error;
    }
    if (hadOld) await call((cb) => this.raw.unlink(aside, cb)).catch(() => undefined);
  }

  mkdir(path: string): Promise<void> {
    return call((cb) => this.raw.mkdir(path, cb));
  }

  unlink(path: string): Promise<void> {
    return call((cb) => this.raw.unlink(path, cb));
  }

  /** Free space for the login on the filesystem of `path`, or undefined if the server cannot say. */
  async space(path: string): Promise<FsSpace | undefined> {
    try {
      const info = await call<{ f_bavail: number | bigint; f_frsize: number | bigint }>((cb) => this.raw.ext_openssh_statvfs(path, cb));
      const freeBytes = Number(info.f_bavail) * Number(info.f_frsize);
      return Number.isFinite(freeBytes) ? { freeBytes } : undefined;
    } catch {
      return undefined;
    }
  }

  end(): void {
    this.raw.end();
  }
}

function call<T = void>(start: (cb: (error: Error | undefined | null, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      start((error, value) => (error ? reject(error) : resolve(value as T)));
    } catch (error) {
      reject(error); // ssh2 throws synchronously for unsupported extensions and a closed channel
    }
  });
}

function unsupported(error: unknown): boolean {
  return error instanceof Error && /does not support this extended request/.test(error.message);
}
