/**
 * Splits a shell's stdout into one command's parts. The wrapper (see shell-script.ts) prints
 *   <background job ids, one a line> <jobs token>\n <output...> <end token><status>\n
 * where both tokens hold a random id, so no output can end the command early.
 */
export class CommandStream {
  private readonly jobsEnd: Buffer;
  private readonly end: Buffer;
  private state: "header" | "body" | "status" | "done" = "header";
  private pending: Buffer = Buffer.alloc(0);
  /** Process ids of background jobs that existed before the command started. */
  jobs: number[] = [];
  exitCode: number | undefined;
  /** Bytes after the status line: the start of the next command's header. */
  remainder: Buffer = Buffer.alloc(0);

  constructor(
    tokens: { jobs: string; end: string },
    private readonly onOutput: (chunk: Buffer) => void,
  ) {
    this.jobsEnd = Buffer.from(tokens.jobs + "\n");
    this.end = Buffer.from(tokens.end);
  }

  get done(): boolean {
    return this.state === "done";
  }

  /** True once the command itself is running (its header was seen). */
  get started(): boolean {
    return this.state !== "header";
  }

  /** Feed the next chunk of shell stdout. Returns true when the command has finished. */
  push(chunk: Buffer): boolean {
    if (this.state === "done") return true;
    let data = chunk;
    if (this.state === "body") {
      data = this.joinPending(chunk);
    } else if (this.pending.length) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = Buffer.alloc(0);
    }
    if (this.state === "header") {
      data = this.readHeader(data);
      if (this.state === "header") return false;
    }
    if (this.state === "body") {
      data = this.readBody(data);
      if (this.state === "body") return false;
    }
    this.readStatus(data);
    return this.done;
  }

  /** Hand over output held back in case it began a token: the shell ended, no token is coming. */
  flush(): void {
    if (this.state === "body" && this.pending.length) this.onOutput(this.pending);
    this.pending = Buffer.alloc(0);
  }

  /**
   * The bytes held back from the last chunk only matter if a token starts in them: check the
   * seam alone, so a long output is never copied chunk by chunk.
   */
  private joinPending(chunk: Buffer): Buffer {
    const held = this.pending;
    if (held.length === 0) return chunk;
    this.pending = Buffer.alloc(0);
    // A short chunk may not complete a token that starts in `held`: treat them as one.
    if (chunk.length < this.end.length - 1) return Buffer.concat([held, chunk]);
    const seam = Buffer.concat([held, chunk.subarray(0, this.end.length - 1)]);
    if (seam.indexOf(this.end) >= 0) return Buffer.concat([held, chunk]);
    this.onOutput(held);
    return chunk;
  }

  private readHeader(data: Buffer): Buffer {
    // Anything before the header is late output of earlier background jobs; the job ids are the
    // lines just before the token (`jobs -p` prints nothing when there are none).
    const stop = data.indexOf(this.jobsEnd);
    if (stop < 0) {
      this.pending = keepTail(data, HEADER_KEEP);
      return Buffer.alloc(0);
    }
    this.jobs = parseJobIds(data.toString("latin1", Math.max(0, stop - HEADER_KEEP), stop));
    this.state = "body";
    return data.subarray(stop + this.jobsEnd.length);
  }

  private readBody(data: Buffer): Buffer {
    const at = data.indexOf(this.end);
    if (at < 0) {
      // Hold back only what could be the start of a token split across chunks, so output
      // reaches a caller who reads while the command runs.
      const hold = tokenPrefixAtEnd(data, this.end);
      if (data.length > hold) this.onOutput(data.subarray(0, data.length - hold));
      this.pending = Buffer.from(data.subarray(data.length - hold));
      return Buffer.alloc(0);
    }
    if (at > 0) this.onOutput(data.subarray(0, at));
    this.state = "status";
    return data.subarray(at + this.end.length);
  }

  private readStatus(data: Buffer): void {
    const nl = data.indexOf(0x0a);
    if (nl < 0) {
      this.pending = Buffer.from(data);
      return;
    }
    this.exitCode = Number.parseInt(data.toString("latin1", 0, nl), 10);
    this.remainder = data.subarray(nl + 1);
    this.state = "done";
  }
}

/** Length of the longest end of `data` that is a proper start of `token` (0 if none). */
export function tokenPrefixAtEnd(data: Buffer, token: Buffer): number {
  const from = Math.max(0, data.length - (token.length - 1));
  for (let i = data.indexOf(token[0]!, from); i >= 0; i = data.indexOf(token[0]!, i + 1)) {
    const n = data.length - i;
    if (data.compare(token, 0, n, i) === 0) return n;
  }
  return 0;
}

/** How much of the header to keep while waiting for its token: room for thousands of job ids. */
const HEADER_KEEP = 64 * 1024;

function keepTail(data: Buffer, n: number): Buffer {
  return Buffer.from(data.subarray(Math.max(0, data.length - n)));
}

/**
 * Job ids from `jobs -p`: bash, dash and ksh print one pid a line, zsh "[1]  + 1234 running ...".
 * Only the block of such lines right before the token counts; earlier text is stray output.
 */
export function parseJobIds(text: string): number[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const ids: number[] = [];
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^(\d+)$/.exec(lines[i]!) ?? /^\[\d+\]\s+[-+]?\s*(\d+)\s/.exec(lines[i]!);
    if (!m) break;
    ids.unshift(Number(m[1]));
  }
  return ids;
}
