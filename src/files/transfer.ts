import type { FileHandle } from "node:fs/promises";
import { TransferCancelledError } from "./file-errors.js";
import type { Sftp } from "./sftp.js";

/**
 * How much is in flight at once. SFTP answers each request in turn, so throughput needs many
 * requests outstanding (as OpenSSH's sftp does, 64 x 32 KiB); memory is CHUNK x DEPTH per transfer.
 */
export const CHUNK_BYTES = 64 * 1024;
export const DEPTH = 32;

/** Called after each chunk with the bytes done so far. */
export type OnBytes = (done: number) => void;

interface Pending {
  position: number;
  length: number;
  data: Promise<Buffer>;
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
  sink: (chunk: Buffer) => Promise<void> | void,
  signal?: AbortSignal,
): Promise<number> {
  const pending: Pending[] = [];
  let next = 0;
  const request = () => {
    const length = Math.min(CHUNK_BYTES, size - next);
    const position = next;
    const buffer = Buffer.allocUnsafe(length);
    const data = sftp.read(handle, buffer, length, position).then((n) => buffer.subarray(0, n));
    data.catch(() => undefined); // a failure is seen when its turn comes; the others must not go unhandled
    pending.push({ position, length, data });
    next += length;
  };
  const fill = () => {
    while (next < size && pending.length < DEPTH) request();
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
      await sink(chunk);
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
 * Copy a local file to an open remote handle: read in order, `onChunk` sees every chunk (for
 * the hash), writes are pipelined DEPTH deep. Resolves with the bytes written.
 */
export async function writeRemote(
  sftp: Sftp,
  handle: Buffer,
  source: FileHandle,
  onChunk: (chunk: Buffer) => void,
  onBytes?: OnBytes,
  signal?: AbortSignal,
): Promise<number> {
  const inFlight: Array<Promise<void>> = [];
  let position = 0;
  let acknowledged = 0;
  try {
    for (;;) {
      if (signal?.aborted) throw new TransferCancelledError();
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      const { bytesRead } = await source.read(buffer, 0, CHUNK_BYTES, position);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      onChunk(chunk);
      const written = sftp.write(handle, chunk, position).then(() => {
        acknowledged += bytesRead;
        onBytes?.(acknowledged);
      });
      written.catch(() => undefined); // awaited in turn below
      inFlight.push(written);
      position += bytesRead;
      if (inFlight.length >= DEPTH) await inFlight.shift();
    }
    while (inFlight.length) await inFlight.shift();
    return position;
  } finally {
    await Promise.allSettled(inFlight);
  }
}
