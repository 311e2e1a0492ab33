import { randomBytes } from "node:crypto";
import type { Client, ClientChannel } from "ssh2";
import { Command, type OutputFilter } from "./command.js";
import { CommandStream } from "./command-stream.js";
import { commandScript, commandTokens, hangupScript, initScript, interruptScript, killShellScript } from "./shell-script.js";
import { SessionBusyError, SessionEndedError, ShellStartError } from "./session-errors.js";
import { openSudoPipe, type SudoPipe } from "./sudo.js";

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

/** What the shell runs in place of a command that is wrapped (sudo), and how its output is read. */
export interface Wrapped {
  script: string;
  filter: OutputFilter;
}

/** A command's parser, made before the command is sent (see commandScript), and where its output goes. */
interface Prepared {
  id: string;
  stream: CommandStream;
  sink: { command?: Command };
}

/** The command whose output the shell is printing now. */
interface Active {
  command: Command;
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
  private active: Active | undefined;
  /** The latest command, kept until its ending has been reported. */
  private last: Command | undefined;
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
    const first = prepare();
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

  /** The latest command while it runs, or after it ended until a report carried its ending. */
  get command(): Command | undefined {
    return this.last && !this.last.reported ? this.last : undefined;
  }

  /**
   * Send a command to the shell and return it running. The caller makes sure the session is
   * free (see `command`); a running command here is refused.
   */
  start(text: string, timeoutMs: number, wrapped?: Wrapped): Command {
    if (!this.alive) throw this.endedError("");
    if (this.last?.running) throw new SessionBusyError(this.options.sessionId, this.last.text, this.last.elapsedMs());
    const { id, stream, sink } = this.next;
    this.next = prepare();
    let answered!: () => void;
    const shellAnswered = new Promise<void>((resolve) => (answered = resolve));
    const command = new Command(text, timeoutMs, this.options.maxOutputBytes, () => this.stop(stream, shellAnswered), wrapped?.filter);
    sink.command = command;
    this.last = command;
    this.active = { command, stream, answered };
    this.channel.write(commandScript(id, wrapped?.script ?? text, this.next.id));
    return command;
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

  private onData(chunk: Buffer): void {
    const active = this.active;
    // Between commands, output is the next command's header, or late output of a background job.
    if (!active) return void this.next.stream.push(chunk);
    if (!active.stream.push(chunk)) return;
    const rest = active.stream.remainder;
    this.active = undefined;
    active.answered();
    active.command.exited(active.stream.exitCode ?? -1);
    if (rest.length) this.next.stream.push(rest);
  }

  /**
   * Stop the running command (see Command.stop). Resolves true once the shell answered; if it
   * never does, the session is closed and this resolves false.
   */
  private async stop(stream: CommandStream, shellAnswered: Promise<void>): Promise<boolean> {
    if (await this.interrupt(stream, shellAnswered)) return true;
    this.stopping = "the shell did not answer after a command was interrupted, so it was stopped";
    void this.openSidecar(killShellScript(this.shellPid))
      .then((side) => side.closed)
      .catch(() => undefined)
      .then(() => this.end(this.stopping!));
    return false;
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

  /**
   * A private FIFO on the host holding `password` for one sudo command (see sudo.ts), fed over a
   * second channel: call it only when that command is about to be sent.
   */
  openSudoPipe(password: string): Promise<SudoPipe> {
    const open = (script: string) =>
      new Promise<ClientChannel>((resolve, reject) => this.client.exec(script, (error, ch) => (error ? reject(error) : resolve(ch))));
    return openSudoPipe(open, password);
  }

  private endedError(output: string): SessionEndedError {
    return new SessionEndedError(this.options.sessionId, this.endReason ?? "it ended", output);
  }

  private end(reason: string): void {
    if (this.endReason !== undefined) return;
    this.endReason = this.stopping ?? reason;
    this.channel.close();
    this.client.end();
    if (this.active) {
      // Output held back in case it began a token: no token is coming now.
      this.active.stream.flush();
      this.active = undefined;
    }
    this.last?.sessionEnded(this.endReason);
    for (const listener of [...this.endListeners]) listener(this.endReason);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function prepare(): Prepared {
  const id = randomId();
  const sink: Prepared["sink"] = {};
  return { id, sink, stream: new CommandStream(commandTokens(id), (chunk) => sink.command?.push(chunk)) };
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
