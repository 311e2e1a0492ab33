import { constants, type Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { resolve } from "node:path";
import { SshMcpError } from "../errors.js";
import { expandHome } from "./expand-home.js";

/** Largest key file read. A private key is a few KiB (RSA-16384 in PEM is about 12 KiB); more is not a key. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

/** How long a key file may take to read before the caller gets an error (a hung network filesystem). */
export const KEY_FILE_TIMEOUT_MS = 5_000;

// O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer, and makes reads of
// files like /proc/kmsg fail instead of waiting for data. Windows has neither flag.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);
const CHUNK = 16 * 1024;
const PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----|^PuTTY-User-Key-File-\d+:/m;
const PUBLIC_KEY = /^(?:ssh-|ecdsa-|sk-)\S+ AAAA|^---- BEGIN SSH2 PUBLIC KEY ----|-----BEGIN (?:RSA )?PUBLIC KEY-----/m;

/** A key file that cannot be used; `problem` completes "the file ...", e.g. "does not exist". */
export class KeyFileError extends SshMcpError {
  constructor(
    /** keyPath as given. */
    readonly keyPath: string,
    /** The path actually opened ("~/" expanded, made absolute). */
    readonly path: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`Key file ${keyPath}${keyPath === path ? "" : ` (${path})`} ${problem}.`, options);
  }
}

/** The absolute path `keyPath` names: "~" and "~/" are the given home; "~user/" is refused (KeyFileError). */
export function keyFilePath(keyPath: string, homeDir: string): string {
  const otherUser = /^~([^/]+)/.exec(keyPath);
  if (otherUser) {
    // Node cannot look up another user's home, and resolving "~bob" as a relative path would read
    // from wherever the server happened to start.
    throw new KeyFileError(
      keyPath,
      keyPath,
      `is under ~${otherUser[1]}, another user's home, which ssh-mcp does not expand: give the full path instead (or ~/ for your own home)`,
    );
  }
  return resolve(expandHome(keyPath, homeDir));
}

/**
 * Read the private key at `keyPath`: one open, checked on the opened handle (a regular file), at most
 * MAX_KEY_FILE_BYTES, within `timeoutMs`, and it must look like a private key. KeyFileError says why not.
 */
export async function readPrivateKeyFile(keyPath: string, homeDir: string, timeoutMs = KEY_FILE_TIMEOUT_MS): Promise<Buffer> {
  const path = keyFilePath(keyPath, homeDir);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new KeyFileError(keyPath, path, `could not be read within ${timeoutMs} ms; is it on a filesystem that hangs?`)),
      timeoutMs,
    );
  });
  try {
    // A read that hangs keeps going in the background (it closes its own handle); the caller moves on.
    const key = await Promise.race([readCapped(keyPath, path), timedOut]);
    checkLooksPrivate(keyPath, path, key);
    return key;
  } finally {
    clearTimeout(timer);
  }
}

async function readCapped(keyPath: string, path: string): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    throw new KeyFileError(keyPath, path, describeErrno(error), { cause: error });
  }
  try {
    // fstat the handle we read, not the path: the file may be swapped between a stat and an open.
    const stats = await handle.stat();
    if (stats.isDirectory()) throw new KeyFileError(keyPath, path, "is a directory, not a private key file");
    if (!stats.isFile()) throw new KeyFileError(keyPath, path, `is ${kindOf(stats)}, not a regular file`);
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES + CHUNK);
    let length = 0;
    // st_size cannot be trusted: /proc files report 0 and may never end.
    while (length <= MAX_KEY_FILE_BYTES) {
      const { bytesRead } = await handle.read(buffer, length, CHUNK, null);
      if (bytesRead === 0) return buffer.subarray(0, length);
      length += bytesRead;
    }
    throw new KeyFileError(keyPath, path, `is larger than ${MAX_KEY_FILE_BYTES / 1024} KiB, far more than a private key`);
  } catch (error) {
    if (error instanceof KeyFileError) throw error;
    throw new KeyFileError(keyPath, path, describeErrno(error), { cause: error });
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function checkLooksPrivate(keyPath: string, path: string, key: Buffer): void {
  const text = key.toString("latin1");
  if (PRIVATE_KEY.test(text)) return;
  if (PUBLIC_KEY.test(text)) {
    throw new KeyFileError(keyPath, path, "is a public key: give the private key file such as ~/.ssh/id_ed25519, not the .pub");
  }
  throw new KeyFileError(
    keyPath,
    path,
    'does not look like a private key (no "-----BEGIN ... PRIVATE KEY-----" line): give a private key file such as ~/.ssh/id_ed25519',
  );
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return "a FIFO (named pipe)";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  if (stats.isSocket()) return "a socket";
  return "not a file";
}

function describeErrno(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return "does not exist";
    case "EACCES":
    case "EPERM":
      return "is not readable by this process";
    case "ENXIO":
      return "is a socket or device, not a regular file";
    case "EAGAIN":
      return "has nothing to read yet (it behaves like a pipe or log), so it is not a private key file";
    case "ERR_INVALID_ARG_VALUE":
    case "ERR_INVALID_ARG_TYPE":
      return "is not a usable path (it contains a NUL character)";
  }
  return `cannot be read (${code ?? (error instanceof Error ? error.message : String(error))})`;
}
