import { randomBytes } from "node:crypto";
import type { Client, ClientChannel } from "ssh2";
import { SerialQueue } from "../serial-queue.js";
import { CappedOutput } from "./capped-output.js";
import { CommandStream } from "./command-stream.js";
import { commandScript, commandTokens, hangupScript, initScript, interruptScript, killShellScript } from "./shell-script.js";
import { CommandCancelledError, CommandTimeoutError, SessionEndedError, ShellStartError } from "./session-errors.js";

/** Limits one shell works within. */
export interface ShellOptions {
  sessionId: string;
  maxOutputBytes: number;
  /** How long the shell may take to answer its first line. */
  startTimeoutMs: number;
}

/**
 * After an interrupt starts, how long the shell has to answer before it is stopped: the
 * interrupt script needs up to a second for each of INT, TERM and KILL.
 */
const INTERRUPT_GRACE_MS = 5000;
/** How long a closing session waits for its hangup to be delivered. */
const HANGUP_WAIT_MS = 2000;
/** How long a side channel may take before it is closed regardless. */
const SIDECAR_LIMIT_MS = 10_000;

/** What a finished command left behind. */
export interface CommandResult {
  exitCode: number;
  output: string;
}

/** A command's parser and output buffer, made before the command is sent (see commandScript). */
interface Prepared {
  id: string;
  stream: CommandStream;
  output: CappedOutput;
}

interface Running {
  stream: CommandStream;
  /** Called once, when the command's end token arrives. */
  answered: () => void;
}

/** A short script running on a second channel; its stdin stays open until `end()`. */
interface Sidecar {
  end(): void;
  closed: Promise<void>;
}

/**
 * One SSH connection and one shell without a terminal: no prompt, no echo, no escape codes.
 * Commands run one at a time in that shell, so cwd, variables and jobs carry over.
 */
export class ShellSession {
  private readonly queue = new SerialQueue();
  private running: Running | undefined;
  private endReason: string | undefined;
  /** Set while we stop the shell ourselves, so the end is reported as our doing. */
  private stopping: string | undefined;
  private exitStatus: number | undefined;
  private readonly endListeners: Array<(reason: string) => void> = [];

  /** The next command's parser: it already receives that command's header, sent by the last one. */
  private next: Prepared;

  private constructor(
    private readonly client: Client,
    private readonly channel: ClientChannel,
    private readonly shellPid: number,
    private readonly options: ShellOptions,
    first: Prepared,
  ) {
    this.next = first;
    channel.on("data", (chunk: Buffer) => this.onData(chunk));
    const exited = () =>
      this.end(this.exitStatus === undefined ? "the shell closed" : `the shell exited with status ${this.exitStatus}`);
    channel.on("exit", (code: number | null, signal?: string) => {
      this.exitStatus = code ?? undefined;
      if (signal) return this.end(`the shell was killed by signal ${signal}`);
      // sshd closes the channel only when every holder of the shell's stdout is gone, and a
      // background job may hold it for hours: give in-flight output a moment, then end anyway.
      setTimeout(exited, 300).unref();
    });
    channel.on("close", exited);
    client.on("close", () => this.end("the SSH connection was lost"));
    client.on("error", (error: Error) => this.end(`the SSH connection failed (${error.message})`));
  }

  /** Open the shell on a connected client and wait until it answers. */
  static async open(client: Client, options: ShellOptions): Promise<ShellSession> {
    const channel = await new Promise<ClientChannel>((resolve, reject) =>
      // `false`: no pseudo-terminal, so output is exactly what commands print.
      client.shell(false, (error, ch) => (error ? reject(new ShellStartError(`Could not open a shell: ${error.message}`, { cause: error })) : resolve(ch))),
    );
    channel.stderr.resume(); // the shell's own stderr carries nothing we need; commands' stderr is merged
    const readyToken = `__MCP_${randomId()}_R`;
    const first = prepare(options.maxOutputBytes);
    const ready = await waitForReady(channel, initScript(readyToken, first.id), readyToken, options.startTimeoutMs, (chunk) =>
      first.stream.push(chunk),
    );
    const session = new ShellSession(client, channel, ready.pid, options, first);
    ready.detach(); // same tick as the session's own listener: no chunk falls between them
    return session;
  }

  /** True until the shell or the connection ends. */
  get alive(): boolean {
    return this.endReason === undefined;
  }

  /** The connection and the shell's pid, for work beside the shell on the same login (src/files). */
  get connection(): { client: Client; shellPid: number } {
    return { client: this.client, shellPid: this.shellPid };
  }

  /** Called once when the session ends, whoever ended it. */
  onEnd(listener: (reason: string) => void): void {
    this.endListeners.push(listener);
  }

  /** Run one command after those already queued; rejects with a typed error on timeout, cancel or a dying shell. */
  run(command: string, timeoutMs: number, signal?: AbortSignal): Promise<CommandResult> {
    return this.queue.run(() => this.runNow(command, timeoutMs, signal));
  }

  /**
   * Hang up the shell and every process of its session, as closing a terminal does, then end
   * the connection. Bounded: a host that does not answer is simply disconnected.
   */
  async close(reason = "it was closed"): Promise<void> {
    if (!this.alive) return;
    this.stopping = reason;
    const hungUp = this.openSidecar(hangupScript(this.shellPid)).then((side) => side.closed);
    await Promise.race([hungUp.catch(() => undefined), delay(HANGUP_WAIT_MS)]);
    this.end(reason);
  }

  private runNow(command: string, timeoutMs: number, signal?: AbortSignal): Promise<CommandResult> {
    if (!this.alive) return Promise.reject(this.endedError(""));
    if (signal?.aborted) return Promise.reject(new CommandCancelledError(""));
    const { id, stream, output } = this.next;
    this.next = prepare(this.options.maxOutputBytes);

    return new Promise<CommandResult>((resolve, reject) => {
      let interrupted: "timeout" | "cancel" | undefined;
      /** Resolves true once an interrupt is over and the shell answered, false if it never did. */
      let interruption: Promise<boolean> | undefined;
      let markAnswered!: () => void;
      const shellAnswered = new Promise<void>((r) => (markAnswered = r));
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        const at = this.endListeners.indexOf(onEnded);
        if (at >= 0) this.endListeners.splice(at, 1);
        if (this.running?.stream === stream) this.running = undefined;
        if (error) reject(error);
        else if (interrupted === "timeout") reject(new CommandTimeoutError(timeoutMs, output.text(), true));
        else if (interrupted === "cancel") reject(new CommandCancelledError(output.text()));
        else resolve({ exitCode: stream.exitCode ?? -1, output: output.text() });
      };
      const onEnded = () => {
        stream.flush();
        settle(this.endedError(output.text()));
      };
      const interrupt = (kind: "timeout" | "cancel") => {
        if (interrupted || stream.done) return;
        interrupted = kind;
        interruption = this.interrupt(stream, shellAnswered);
        void interruption.then(async (answered) => {
          if (answered) return settle();
          this.stopping = "the shell did not answer after a command was interrupted, so it was stopped";
          settle(kind === "timeout" ? new CommandTimeoutError(timeoutMs, output.text(), false) : new CommandCancelledError(output.text(), false));
          await this.openSidecar(killShellScript(this.shellPid))
            .then((side) => side.closed)
            .catch(() => undefined);
          this.end(this.stopping);
        });
      };
      const onAbort = () => interrupt("cancel");
      const timer = setTimeout(() => interrupt("timeout"), timeoutMs);
      signal?.addEventListener("abort", onAbort);
      this.endListeners.push(onEnded);
      this.running = {
        stream,
        answered: () => {
          this.running = undefined;
          markAnswered();
          // After an interrupt, the result waits until the interrupt script has stopped.
          if (!interruption) settle();
        },
      };
      this.channel.write(commandScript(id, command, this.next.id));
    });
  }

  private onData(chunk: Buffer): void {
    const run = this.running;
    // Between commands, output is the next command's header, or late output of a background job.
    if (!run) return void this.next.stream.push(chunk);
    if (!run.stream.push(chunk)) return;
    const rest = run.stream.remainder;
    run.answered();
    if (rest.length) this.next.stream.push(rest);
  }

  /**
   * Stop the running command (see interruptScript). Resolves true once the shell answered and
   * the interrupt script is gone, so no abort signal of it can reach the next command.
   */
  private async interrupt(stream: CommandStream, shellAnswered: Promise<void>): Promise<boolean> {
    // Without the header the jobs to spare are unknown, so nothing is killed blindly.
    const side = stream.started ? this.openSidecar(interruptScript(this.shellPid, stream.jobs)).catch(() => undefined) : undefined;
    const answered = await Promise.race([shellAnswered.then(() => true), delay(INTERRUPT_GRACE_MS).then(() => false)]);
    const script = await side;
    script?.end();
    await script?.closed;
    return answered;
  }

  /** Run a short script on a second channel of the same connection (no new login). */
  private openSidecar(script: string): Promise<Sidecar> {
    return new Promise((resolve, reject) => {
      this.client.exec(script, (error, ch) => {
        if (error) return reject(error);
        const guard = setTimeout(() => ch.close(), SIDECAR_LIMIT_MS);
        const closed = new Promise<void>((done) =>
          ch.on("close", () => {
            clearTimeout(guard);
            done();
          }),
        );
        ch.resume();
        ch.stderr.resume();
        resolve({ end: () => ch.end(), closed });
      });
    });
  }

  private endedError(output: string): SessionEndedError {
    return new SessionEndedError(this.options.sessionId, this.endReason ?? "it ended", output);
  }

  private end(reason: string): void {
    if (this.endReason !== undefined) return;
    this.endReason = this.stopping ?? reason;
    this.channel.close();
    this.client.end();
    for (const listener of [...this.endListeners]) listener(this.endReason);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function prepare(maxOutputBytes: number): Prepared {
  const id = randomId();
  const output = new CappedOutput(maxOutputBytes);
  return { id, output, stream: new CommandStream(commandTokens(id), (chunk) => output.push(chunk)) };
}

/**
 * Send the init script and wait for the ready line. ssh2 may emit several chunks in one tick, so
 * what follows the line goes to `afterReady` until the caller detaches this listener.
 */
function waitForReady(
  channel: ClientChannel,
  script: string,
  token: string,
  timeoutMs: number,
  afterReady: (chunk: Buffer) => void,
): Promise<{ pid: number; detach: () => void }> {
  return new Promise((resolve, reject) => {
    const needle = Buffer.from(token);
    let seen = Buffer.alloc(0);
    let ready = false;
    const detach = () => channel.removeListener("data", onData);
    const fail = (error: Error) => {
      clearTimeout(timer);
      channel.removeListener("close", onClose);
      detach();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      if (ready) return afterReady(chunk);
      seen = Buffer.concat([seen, chunk]);
      const at = seen.indexOf(needle);
      const nl = at < 0 ? -1 : seen.indexOf(0x0a, at);
      if (nl < 0) {
        // Login scripts may print before our line; keep only enough to find it.
        if (at < 0 && seen.length > 4096) seen = seen.subarray(seen.length - needle.length);
        return;
      }
      ready = true;
      clearTimeout(timer);
      channel.removeListener("close", onClose);
      resolve({ pid: Number(seen.toString("latin1", at + needle.length, nl)), detach });
      afterReady(seen.subarray(nl + 1));
    };
    const onClose = () =>
      fail(new ShellStartError("The remote shell closed as soon as it started. Check the account's login shell and its login scripts (~/.profile, ~/.bash_profile, ~/.zprofile)."));
    const timer = setTimeout(
      () =>
        fail(
          new ShellStartError(
            `The remote shell did not answer within ${timeoutMs} ms. ssh-mcp needs a POSIX login shell (sh, bash, dash, zsh, ksh, mksh, ash) ` +
              `whose login scripts (~/.profile, ~/.bash_profile, ~/.zprofile) finish without waiting for input: one that reads from standard input takes ssh-mcp's own lines.`,
          ),
        ),
      timeoutMs,
    );
    channel.on("data", onData);
    channel.on("close", onClose);
    channel.write(script);
  });
}

/** 64 random bits: no output can guess a token, and the shell has few bytes to read. */
function randomId(): string {
  return randomBytes(8).toString("hex");
}
