import { BinaryFileError, NotUtf8Error } from "./file-errors.js";

/** Which lines to return, within how many bytes. */
export interface PageRequest {
  /** First line, counting from 1. */
  offset: number;
  /** Most lines to return. */
  limit: number;
  /** Most bytes of text to return. */
  maxBytes: number;
}

/** A run of whole lines of a text file (or the start of one line longer than the byte limit). */
export interface TextPage {
  text: string;
  /** Line number of the first line in `text` (the request's offset). */
  firstLine: number;
  /** Lines in `text`, counting a last line without its newline and a cut line. */
  lines: number;
  totalLines: number;
  /** The file's size in bytes. */
  size: number;
  /** True when `text` holds only the start of line `firstLine`, which alone is over maxBytes. */
  lineCut: boolean;
}

const NEWLINE = 0x0a;

/**
 * Scans a file's bytes chunk by chunk, in bounded memory: refuses binary (NUL bytes) and invalid
 * UTF-8 anywhere in the file, counts its lines, and keeps only the requested lines' bytes.
 */
export class TextPager {
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  /** keptBytes at the end of the last whole line kept. */
  private keptAtLineEnd = 0;
  private linesKept = 0;
  private collecting = true;
  private lineCut = false;
  /** The line the next byte belongs to. */
  private line = 1;
  private size = 0;
  private lastByte = -1;

  constructor(
    private readonly path: string,
    private readonly request: PageRequest,
  ) {}

  /** Take the next chunk of the file. */
  push(chunk: Buffer): void {
    if (chunk.includes(0)) throw new BinaryFileError(this.path, this.size + chunk.length);
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch (error) {
      throw new NotUtf8Error(this.path, this.size + chunk.length);
    }
    this.size += chunk.length;
    this.lastByte = chunk.length ? chunk[chunk.length - 1]! : this.lastByte;
    let at = 0;
    while (at < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, at);
      const end = nl < 0 ? chunk.length : nl + 1;
      if (this.collecting && this.line >= this.request.offset) this.keep(chunk.subarray(at, end), nl >= 0);
      if (nl < 0) break;
      this.line++;
      at = end;
    }
  }

  /** The page, once every chunk was pushed. `size` is what the caller expected to read. */
  finish(): TextPage {
    try {
      this.decoder.decode();
    } catch (error) {
      throw new NotUtf8Error(this.path, this.size);
    }
    // A file that ends without a newline still has that last line.
    const totalLines = this.size === 0 ? 0 : this.lastByte === NEWLINE ? this.line - 1 : this.line;
    if (this.collecting && this.keptBytes > this.keptAtLineEnd) this.linesKept++; // the last line, without newline
    const text = Buffer.concat(this.kept, this.keptBytes).toString("utf8");
    return { text, firstLine: this.request.offset, lines: this.linesKept, totalLines, size: this.size, lineCut: this.lineCut };
  }

  private keep(part: Buffer, endsLine: boolean): void {
    const room = this.request.maxBytes - this.keptBytes;
    if (part.length > room) {
      this.collecting = false;
      if (this.linesKept > 0) return this.dropPartialLine();
      // The first line alone is over the limit: keep its start, cut on a character boundary.
      this.append(part.subarray(0, room));
      const kept = Buffer.concat(this.kept, this.keptBytes);
      const whole = completeCharacters(kept);
      this.kept.splice(0, this.kept.length, kept.subarray(0, whole));
      this.keptBytes = whole;
      this.lineCut = true;
      this.linesKept = 1;
      return;
    }
    this.append(part);
    if (!endsLine) return;
    this.linesKept++;
    this.keptAtLineEnd = this.keptBytes;
    if (this.linesKept >= this.request.limit) this.collecting = false;
  }

  private append(part: Buffer): void {
    this.kept.push(Buffer.from(part)); // a copy: the caller may reuse its buffer
    this.keptBytes += part.length;
  }

  private dropPartialLine(): void {
    let excess = this.keptBytes - this.keptAtLineEnd;
    while (excess > 0) {
      const last = this.kept[this.kept.length - 1]!;
      if (last.length <= excess) {
        this.kept.pop();
        excess -= last.length;
      } else {
        this.kept[this.kept.length - 1] = last.subarray(0, last.length - excess);
        excess = 0;
      }
    }
    this.keptBytes = this.keptAtLineEnd;
  }
}

/** Length of the longest prefix of `bytes` (valid UTF-8) that ends on a whole character. */
function completeCharacters(bytes: Buffer): number {
  let start = bytes.length - 1;
  while (start > 0 && (bytes[start]! & 0xc0) === 0x80) start--;
  if (start < 0) return 0;
  const lead = bytes[start]!;
  const width = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
  return start + width <= bytes.length ? bytes.length : start;
}
