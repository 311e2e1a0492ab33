/**
 * Keeps the first and the last bytes of a stream within a fixed cap and counts what falls between,
 * so memory stays bounded and each byte is copied at most once whatever a command prints.
 */
export class CappedOutput {
  private readonly headCap: number;
  private readonly tailCap: number;
  private head: Buffer | undefined;
  private headLen = 0;
  private ring: Buffer | undefined;
  private ringPos = 0;
  private ringWritten = 0;
  /** Every byte pushed, kept or not. */
  totalBytes = 0;

  constructor(capBytes: number) {
    this.headCap = Math.ceil(capBytes / 2);
    this.tailCap = Math.floor(capBytes / 2);
  }

  push(chunk: Buffer): void {
    this.totalBytes += chunk.length;
    let rest = chunk;
    if (this.headLen < this.headCap) {
      this.head ??= Buffer.allocUnsafe(this.headCap);
      const n = Math.min(rest.length, this.headCap - this.headLen);
      rest.copy(this.head, this.headLen, 0, n);
      this.headLen += n;
      rest = rest.subarray(n);
    }
    if (rest.length === 0 || this.tailCap === 0) return;
    this.ring ??= Buffer.allocUnsafe(this.tailCap);
    // Only the last tailCap bytes of a big chunk can survive; skip the rest without copying.
    if (rest.length > this.tailCap) {
      this.ringWritten += rest.length - this.tailCap;
      rest = rest.subarray(rest.length - this.tailCap);
    }
    const first = Math.min(rest.length, this.tailCap - this.ringPos);
    rest.copy(this.ring, this.ringPos, 0, first);
    rest.copy(this.ring, 0, first);
    this.ringPos = (this.ringPos + rest.length) % this.tailCap;
    this.ringWritten += rest.length;
  }

  /** Bytes that were counted but not kept. */
  get omittedBytes(): number {
    return this.totalBytes - this.headLen - Math.min(this.ringWritten, this.tailCap);
  }

  /** The kept bytes as text, with a one-line notice where bytes were left out. */
  text(): string {
    const head = this.head?.subarray(0, this.headLen) ?? Buffer.alloc(0);
    const tail = this.tailBytes();
    const omitted = this.omittedBytes;
    if (omitted === 0) return Buffer.concat([head, tail]).toString("utf8");
    const headEnd = utf8SafeEnd(head);
    const tailStart = utf8SafeStart(tail);
    const notice =
      `\n[ssh-mcp: ${omitted + (head.length - headEnd) + tailStart} bytes of output omitted; ` +
      `showing the first ${headEnd} and the last ${tail.length - tailStart} of ${this.totalBytes} bytes]\n`;
    return head.toString("utf8", 0, headEnd) + notice + tail.toString("utf8", tailStart);
  }

  private tailBytes(): Buffer {
    if (!this.ring || this.ringWritten === 0) return Buffer.alloc(0);
    if (this.ringWritten < this.tailCap) return this.ring.subarray(0, this.ringWritten);
    return Buffer.concat([this.ring.subarray(this.ringPos), this.ring.subarray(0, this.ringPos)]);
  }
}

// Cut points must not split a multi-byte UTF-8 character, or the text gains replacement characters.
function utf8SafeEnd(buf: Buffer): number {
  for (let i = buf.length - 1, back = 0; i >= 0 && back < 4; i--, back++) {
    const b = buf[i]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return i + need <= buf.length ? buf.length : i;
  }
  return buf.length;
}

function utf8SafeStart(buf: Buffer): number {
  let i = 0;
  while (i < buf.length && i < 3 && (buf[i]! & 0xc0) === 0x80) i++;
  return i;
}
