/** Longest message a progress notification carries, in characters. */
export const MAX_LINE_CHARS = 200;
/** Bytes of a line kept: enough for MAX_LINE_CHARS characters of any UTF-8 text and some blanks. */
const KEEP_BYTES = 4 * MAX_LINE_CHARS + 64;

/**
 * The last non-empty line of a stream, for progress messages. A carriage return ends a line
 * too, so a progress bar shows its latest state. Each chunk is scanned from its end only as far
 * as the last non-blank line, and at most KEEP_BYTES of a line are kept.
 */
export class LastLine {
  /** The line still being printed (no newline yet). */
  private open: Buffer = Buffer.alloc(0);
  /** The last complete line that had more than blanks. */
  private done = "";

  push(chunk: Buffer): void {
    const brk = lastBreak(chunk, chunk.length);
    if (brk < 0) {
      this.open = extend(this.open, chunk);
      return;
    }
    const tail = chunk.subarray(brk + 1);
    // The complete lines in this chunk, last first, until one is not blank.
    let end = brk;
    while (end >= 0) {
      const start = lastBreak(chunk, end) + 1;
      const line = start === 0 ? extend(this.open, chunk.subarray(0, end)) : chunk.subarray(start, end);
      const text = shown(line);
      if (text) {
        this.done = text;
        break;
      }
      if (start === 0) break;
      end = start - 1;
    }
    this.open = extend(Buffer.alloc(0), tail);
  }

  /** The latest non-blank line, the unfinished one included, trimmed to MAX_LINE_CHARS. */
  text(): string {
    return shown(this.open) || this.done;
  }
}

/** Index of the last \n or \r before `before`, or -1. Native searches: output can be gigabytes. */
function lastBreak(chunk: Buffer, before: number): number {
  if (before <= 0) return -1;
  return Math.max(chunk.lastIndexOf(0x0a, before - 1), chunk.lastIndexOf(0x0d, before - 1));
}

function extend(kept: Buffer, more: Buffer): Buffer {
  if (kept.length >= KEEP_BYTES) return kept;
  return Buffer.concat([kept, more.subarray(0, KEEP_BYTES - kept.length)]);
}

function shown(line: Buffer): string {
  const text = line.toString("utf8").trim();
  return text.length > MAX_LINE_CHARS ? text.slice(0, MAX_LINE_CHARS) : text;
}
