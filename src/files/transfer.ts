import type { FileHandle } from "node:fs/promises";
import { TransferCancelledError } from "./file-errors.js";
import type { Sftp } from "./sftp.js";

/**
 * How much is in flight at once. SFTP answers each request in turn, so throughput needs many
 * requests outstanding (as OpenSSH's sftp does, 64 x 32 KiB); memory is CHUNK x DEPTH per transfer.
 */
export const CHUNK_BYTES = 128 * 1024;
export const DEPTH = 32;
/** Reads a download asks for at once when it tops up. */
const REFILL = 8;

/** Local disk reads for an upload: large, so the thread pool is asked rarely. */
const LOCAL_BLOCK_BYTES = 1024 * 1024;
/** Local disk writes a download keeps outstanding. */
const LOCAL_WRITES = 16;

/** Called after each chunk with the bytes done so far. */
export type OnBytes = (done: number) => void;

interface Pending {
  position: number;
  length: number;
  data: Promise<Buffer>;
  buffer: Buffer;
}

/**
 * Read the first `size` bytes of a remote file in order, with DEPTH reads outstanding, handing
 * each chunk to `sink` (awaited) before the next. Resolves with the bytes read: fewer if the file
 * shrank meanwhile. Memory stays at DEPTH chunks whatever the size.
 */
export async function readRemote(
  sftp: Sftp,
  handle: Buffer,
  size: number,
  sink: (chunk: Buffer, release: () => void) => Promise<void> | void,
  signal?: AbortSignal,
): Promise<number> {
  const pending: Pending[] = [];
  // Buffers the sink gave back (release) are read into again: less garbage, a flatter peak.
  const free: Buffer[] = [];
  let next = 0;
  const request = () => {
    const length = Math.min(CHUNK_BYTES, size - next);
    const position = next;
    const buffer = free.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
    const data = sftp.read(handle, buffer, length, position).then((n) => buffer.subarray(0, n));
    data.catch(() => undefined); // a failure is seen when its turn comes; the others must not go unhandled
    pending.push({ position, length, data, buffer });
    next += length;
  };
  // Refill in bursts sent as one socket write (see Sftp.batch), not one request per chunk.
  const fill = () => {
    if (pending.length > DEPTH - REFILL && next < size && pending.length > 0) return;
    sftp.batch(() => {
      while (next < size && pending.length < DEPTH) request();
    });
  };
  let done = 0;
  fill();
  try {
    while (pending.length) {
      if (signal?.aborted) throw new TransferCancelledError();
      const head = pending.shift()!;
      let chunk = await head.data;
      // Servers may answer with less than asked before the end: read the rest of this chunk in place.
      if (chunk.length > 0 && chunk.length < head.length) chunk = await readRest(sftp, handle, chunk, head);
      if (chunk.length === 0) break; // the file shrank
      done += chunk.length;
      const buffer = head.buffer;
      await sink(chunk, () => void free.push(buffer));
      if (chunk.length < head.length) break;
      fill();
    }
  } finally {
    // Let what is still in flight land before the handle is closed under it.
    await Promise.allSettled(pending.map((p) => p.data));
  }
  return done;
}

async function readRest(sftp: Sftp, handle: Buffer, first: Buffer, want: Pending): Promise<Buffer> {
  const parts = [first];
  let got = first.length;
  while (got < want.length) {
    const buffer = Buffer.allocUnsafe(want.length - got);
    const n = await sftp.read(handle, buffer, buffer.length, want.position + got);
    if (n === 0) break;
    parts.push(buffer.subarray(0, n));
    got += n;
  }
  return Buffer.concat(parts, got);
}

/**
 * Copy a local file to an open remote handle: read in order, `onBlock` sees every block (for
 * the hash), writes are pipelined DEPTH deep. Local reads are LOCAL_BLOCK_BYTES at a time, the
 * next one already under way while this one is sent: a disk read per chunk, awaited, starved the
 * pipeline. A block's writes leave in one burst: a socket write per chunk cost this thread ~10%
 * more CPU. Resolves with the bytes written.
 */
export async function writeRemote(
  sftp: Sftp,
  handle: Buffer,
  source: FileHandle,
  onBlock: (block: Buffer) => Promise<void> | void,
  onBytes?: OnBytes,
  signal?: AbortSignal,
): Promise<number> {
  const inFlight: Array<Promise<void>> = [];
  let position = 0;
  let acknowledged = 0;
  // A block is read into again once every write from it was acknowledged (ssh2 may still send
  // from it until then, when it splits a write the server cannot take whole).
  const free: Buffer[] = [];
  const readBlock = (at: number) => {
    const buffer = free.pop() ?? Buffer.allocUnsafe(LOCAL_BLOCK_BYTES);
    return source.read(buffer, 0, LOCAL_BLOCK_BYTES, at).then(({ bytesRead }) => ({ buffer, data: buffer.subarray(0, bytesRead) }));
  };
  let next = readBlock(0);
  try {
    for (;;) {
      const { buffer, data: block } = await next;
      if (block.length === 0) break;
      next = readBlock(position + block.length);
      next.catch(() => undefined); // seen when awaited
      if (signal?.aborted) throw new TransferCancelledError();
      await onBlock(block);
      // Room for the whole block first, then all its writes in one socket write (see Sftp.batch).
      const count = Math.ceil(block.length / CHUNK_BYTES);
      while (inFlight.length > DEPTH - count) await inFlight.shift();
      const writes: Array<Promise<void>> = [];
      sftp.batch(() => {
        for (let at = 0; at < block.length; at += CHUNK_BYTES) {
          const chunk = block.subarray(at, at + CHUNK_BYTES);
          const written = sftp.write(handle, chunk, position).then(() => {
            acknowledged += chunk.length;
            onBytes?.(acknowledged);
          });
          written.catch(() => undefined); // awaited in turn below
          inFlight.push(written);
          writes.push(written);
          position += chunk.length;
        }
      });
      void Promise.all(writes).then(
        () => free.push(buffer),
        () => undefined,
      );
    }
    while (inFlight.length) await inFlight.shift();
    return position;
  } finally {
    await Promise.allSettled([...inFlight, next]);
  }
}

/**
 * Positional writes to a local file that do not wait for each other: a download hands chunks
 * over as they arrive and waits only when LOCAL_WRITES are outstanding, then for all at the end.
 */
export class LocalWriter {
  private readonly pending = new Set<Promise<void>>();
  private failure: unknown;

  constructor(private readonly file: FileHandle) {}

  /** Queue `chunk` for `position` (`release` once written); rejects with an earlier write's error. */
  async write(chunk: Buffer, position: number, release?: () => void): Promise<void> {
    if (this.failure) throw this.failure;
    const done: Promise<void> = this.file.write(chunk, 0, chunk.length, position).then(
      () => {
        this.pending.delete(done);
        release?.();
      },
      (error: unknown) => {
        this.pending.delete(done);
        this.failure ??= error;
      },
    );
    this.pending.add(done);
    if (this.pending.size >= LOCAL_WRITES) await Promise.race(this.pending);
    if (this.failure) throw this.failure;
  }

  /** Wait for every queued write; rejects with the first error. */
  async flush(): Promise<void> {
    await Promise.all(this.pending);
    if (this.failure) throw this.failure;
  }
}
