import type { SshMcpError } from "../errors.js";
import { CappedOutput } from "./capped-output.js";
import { LastLine } from "./last-line.js";

/** How a command stands, as results report it. */
export type CommandStatus = "running" | "exited" | "timed_out" | "interrupted" | "session_ended";

/** How a command ended: by itself, by its time limit, by a caller, or with its session. */
export type Ending =
  | { status: "exited"; exitCode: number }
  | { status: "timed_out" | "interrupted"; sessionKept: boolean }
  | { status: "session_ended"; reason: string };

/** What one look at a command shows: its state and the output printed since the last look. */
export interface CommandReport {
  command: string;
  status: CommandStatus;
  /** Set once the command exited by itself. */
  exitCode: number | null;
  /** Output since the previous report, within the cap; a notice marks what was left out. */
  output: string;
  /** Bytes of that span left out by the cap. */
  omittedBytes: number;
  /** From the start of the command to now, or to its end. */
  elapsedMs: number;
  timeoutMs: number;
  /** For timed_out and interrupted: false when the shell never answered and the session was closed. */
  sessionKept: boolean;
  /** For session_ended: why the session ended. */
  reason?: string;
  /** Set when the command exited without really starting (sudo refused it): this is its result. */
  error?: SshMcpError;
}

/**
 * Stands between the shell and a command's output when what is sent wraps the command (sudo):
 * what passes on, and at the end an error when the wrapped command never started.
 */
export interface OutputFilter {
  pass(chunk: Buffer): Buffer | undefined;
  failure(exitCode: number): SshMcpError | undefined;
}

/** Stops a running command in its shell; resolves whether the shell answered afterwards. */
export type Stopper = (why: "timed_out" | "interrupted") => Promise<boolean>;

/**
 * One command's life in a session, owned by its ShellSession:
 *
 *   running ──end token──────────────────────────────▶ exited
 *      │  └──time limit / interrupt──▶ stopping ──▶ timed_out | interrupted
 *      └──session ends (from running or stopping)──▶ session_ended
 *
 * Output goes into a span that each report takes and replaces, so every byte is shown once and
 * memory stays at one cap per unread span however long nobody reads. The ending is reported once:
 * `reported` is set by the report that carries it, and only then is the session free again.
 */
export class Command {
  readonly startedAt = Date.now();
  private endedAt: number | undefined;
  private stopReason: "timed_out" | "interrupted" | undefined;
  private ending: Ending | undefined;
  private span: CappedOutput;
  private readonly lastLine = new LastLine();
  private readonly timer: NodeJS.Timeout;
  private readonly endWaiters: Array<() => void> = [];
  private reportedEnding = false;
  private error: SshMcpError | undefined;
  /** Set when whoever stops the command takes its ending too (a cancelled call, the interrupt tool). */
  private claimed = false;

  constructor(
    readonly text: string,
    readonly timeoutMs: number,
    private readonly maxOutputBytes: number,
    private readonly stopper: Stopper,
    private readonly filter?: OutputFilter,
  ) {
    this.span = new CappedOutput(maxOutputBytes);
    this.timer = setTimeout(() => void this.stop("timed_out"), timeoutMs);
  }

  /** True until the command has ended, however it ended. */
  get running(): boolean {
    return this.ending === undefined;
  }

  /** True while an interrupt or time limit is stopping it. */
  get stopping(): boolean {
    return this.running && this.stopReason !== undefined;
  }

  /** True once its ending has been reported, or belongs to whoever stopped it. */
  get reported(): boolean {
    return this.reportedEnding || (this.claimed && !this.running);
  }

  /** The last non-empty line printed, for progress messages. */
  get lastOutputLine(): string {
    return this.lastLine.text();
  }

  /** Bytes printed since the last report. */
  get unreadBytes(): number {
    return this.span.totalBytes;
  }

  elapsedMs(now = Date.now()): number {
    return (this.endedAt ?? now) - this.startedAt;
  }

  /** Every byte the command printed, read or not. */
  totalOutputBytes = 0;

  /** Output of the command, in order. */
  push(raw: Buffer): void {
    const chunk = this.filter ? this.filter.pass(raw) : raw;
    if (!chunk?.length) return;
    this.totalOutputBytes += chunk.length;
    this.span.push(chunk);
    this.lastLine.push(chunk);
  }

  /** The shell printed the end token. During a stop the stopper decides how it ended. */
  exited(exitCode: number): void {
    if (this.stopReason !== undefined) return;
    this.error = this.filter?.failure(exitCode);
    this.finish({ status: "exited", exitCode });
  }

  /** The session ended under the command. */
  sessionEnded(reason: string): void {
    this.finish({ status: "session_ended", reason });
  }

  /**
   * Stop the command; resolves once it has ended (at once if it already had). With `claim`, the
   * caller takes the ending: it counts as reported, so the session is free as soon as it ends.
   */
  stop(why: "timed_out" | "interrupted", claim = false): Promise<void> {
    if (claim && this.running) this.claimed = true;
    if (this.running && this.stopReason === undefined) {
      this.stopReason = why;
      clearTimeout(this.timer);
      void this.stopper(why).then(
        (sessionKept) => this.finish({ status: why, sessionKept }),
        () => this.finish({ status: why, sessionKept: false }),
      );
    }
    return this.whenEnded();
  }

  /** Resolves once the command has ended. */
  whenEnded(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.endWaiters.push(resolve));
  }

  /**
   * Resolves once the command has ended or `ms` have passed, whichever comes first, or when
   * `signal` aborts. Nothing is taken: call report() for that.
   */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    // No timer for a zero wait: even setTimeout(0) costs a millisecond, which polling pays every call.
    if (!this.running || ms <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        const at = this.endWaiters.indexOf(done);
        if (at >= 0) this.endWaiters.splice(at, 1);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done);
      this.endWaiters.push(done);
    });
  }

  /** How it ended, without taking any output (for the audit log). */
  peekEnding(): { status: CommandStatus; exitCode: number | null } {
    const ending = this.ending;
    return { status: ending?.status ?? "running", exitCode: ending?.status === "exited" ? ending.exitCode : null };
  }

  /** Take the output since the last report; a report of an ended command carries its ending. */
  report(): CommandReport {
    const span = this.span;
    this.span = new CappedOutput(this.maxOutputBytes);
    const ending = this.ending;
    if (ending) this.reportedEnding = true;
    return {
      command: this.text,
      ...this.peekEnding(),
      output: span.text(),
      omittedBytes: span.omittedBytes,
      elapsedMs: this.elapsedMs(),
      timeoutMs: this.timeoutMs,
      sessionKept: ending?.status === "timed_out" || ending?.status === "interrupted" ? ending.sessionKept : ending?.status !== "session_ended",
      reason: ending?.status === "session_ended" ? ending.reason : undefined,
      ...(ending && this.error && { error: this.error }),
    };
  }

  private finish(ending: Ending): void {
    if (this.ending) return;
    this.ending = ending;
    this.endedAt = Date.now();
    clearTimeout(this.timer);
    for (const waiter of this.endWaiters.splice(0)) waiter();
  }
}

/** "850 ms", "12 s", "3 min 05 s", "2 h 07 min": how long a command has run, for people. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** A command as messages name it: its first line, cut to 80 characters. */
export function briefCommand(text: string): string {
  const first = text.trim().split("\n", 1)[0] ?? "";
  const more = first.length > 80 || text.trim().includes("\n");
  return `\`${first.slice(0, 80)}${more ? " ..." : ""}\``;
}
