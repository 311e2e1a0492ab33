/**
 * Splits a shell's stdout into one command's parts. The wrapper (see shell-script.ts) prints
 *   <begin token>\n <background job ids, one a line> <jobs token>\n <output...> <end token><status>\n
 * where every token holds a random id, so no output can end the command early.
 * Anything before the begin token is late output of earlier background jobs and is dropped.
 */
export class CommandStream {
  private readonly begin: Buffer;
  private readonly jobsEnd: Buffer;
  private readonly end: Buffer;
  private state: "header" | "body" | "status" | "done" = "header";
  private pending: Buffer = Buffer.alloc(0);
  /** Process ids of background jobs that existed before the command started. */
  jobs: number[] = [];
  exitCode: number | undefined;

  constructor(
    tokens: { begin: string; jobs: string; end: string },
    private readonly onOutput: (chunk: Buffer) => void,
  ) {
    this.begin = Buffer.from(tokens.begin + "\n");
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
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
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

  private readHeader(data: Buffer): Buffer {
    const start = data.indexOf(this.begin);
    if (start < 0) {
      this.pending = keepTail(data, this.begin.length - 1);
      return Buffer.alloc(0);
    }
    const stop = data.indexOf(this.jobsEnd, start + this.begin.length);
    if (stop < 0) {
      this.pending = data.subarray(start);
      return Buffer.alloc(0);
    }
    this.jobs = parseJobIds(data.toString("latin1", start + this.begin.length, stop));
    this.state = "body";
    return data.subarray(stop + this.jobsEnd.length);
  }

  private readBody(data: Buffer): Buffer {
    const at = data.indexOf(this.end);
    if (at < 0) {
      // Hold back what could be the start of a token split across chunks.
      const hold = Math.min(data.length, this.end.length - 1);
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
    this.state = "done";
  }
}

function keepTail(data: Buffer, n: number): Buffer {
  return Buffer.from(data.subarray(Math.max(0, data.length - n)));
}

/** Job ids from `jobs -p`: bash prints one pid a line, zsh "[1]  + 1234 running ...". */
export function parseJobIds(text: string): number[] {
  const ids: number[] = [];
  for (const line of text.split("\n")) {
    const m = /(?:^|\s)(\d+)(?=\s|$)/.exec(line.replace(/^\[\d+\]/, ""));
    if (m) ids.push(Number(m[1]));
  }
  return ids;
}
