import { homedir } from "node:os";
import { v4 as uuidv4 } from "uuid";
import { MAX_AUDIT_COMMAND_CHARS, type AuditRecord } from "../audit/audit-log.js";
import { ConcurrencyLimit } from "../concurrency-limit.js";
import { DEFAULTS, MAX_TIMER_MS } from "../config.js";
import type { ResolvedHost } from "../hosts/resolved-host.js";
import { CommandRefusedError, type Approver, type Clearance } from "../policy/guard.js";
import { SerialQueue } from "../serial-queue.js";
import { RemoteFiles } from "../files/remote-files.js";
import { connectAsking, type SecretAsker } from "../ssh/ask-secret.js";
import type { Command, CommandReport } from "./command.js";
import { describeReport, resultOf } from "./command-report.js";
import { follow, watch } from "./progress.js";
import { ShellSession, type CommandResult, type Wrapped } from "./shell-session.js";
import { SudoPasswordRequiredError, SudoWrongPasswordError } from "./sudo-errors.js";
import { checkSudoCommand, planSudo, sudoOutputFilter, type SudoRequest } from "./sudo.js";
import {
  DuplicateSessionError,
  InvalidCommandError,
  SessionBusyError,
  SessionEndedError,
  SessionNotFoundError,
  TooManySessionsError,
  UnreadEndingError,
  WaitCancelledError,
} from "./session-errors.js";

import type { ExecOptions, RunOptions, SessionInfo, SessionManagerOptions, StartOptions, WaitOptions } from "./session-types.js";
export type { ExecOptions, HostLookup, RunOptions, SessionInfo, SessionManagerOptions, StartOptions, WaitOptions } from "./session-types.js";

interface Entry {
  info: Omit<SessionInfo, "lastUsedAt">;
  lastUsed: number;
  shell: ShellSession;
  idleTimer?: NodeJS.Timeout;
  /** Library exec calls, in turn. */
  queue: SerialQueue;
  /** Commands the person approved as "similar" for this session (see Guard). */
  approvedSimilar: Set<string>;
  /** The host's stored secrets, masked wherever they appear in the audit log. */
  secrets: string[];
  /** File operations under way (see files()): like a running command, they keep the session from idling out. */
  fileOps: number;
  /** A command that passed free() and is being cleared or prepared (policy, a person, sudo's pipe): the session is taken. */
  claimed?: { command: string; since: number };
}

/** Why a session ended, and the command it took with it if nobody has seen that yet. */
interface Ended {
  reason: string;
  unread?: Command;
}

const ENDED_MEMORY = 256;
/** Longest session id a client may choose. */
export const MAX_SESSION_ID_LENGTH = 128;
const SESSION_ID = new RegExp(`^[A-Za-z0-9._:@-]{1,${MAX_SESSION_ID_LENGTH}}$`);

/** Owns every session: one SSH connection and one shell each, with an inactivity timer. */
export class SessionManager {
  private readonly sessions = new Map<string, Entry>();
  private readonly starting = new Set<string>();
  /** Why recently ended sessions ended, so a late exec can say more than "not found". */
  private readonly ended = new Map<string, Ended>();
  /** Each session's files (see files()), kept apart from Entry so the two concerns stay separate. */
  private readonly remoteFiles = new WeakMap<ShellSession, RemoteFiles>();

  private readonly maxSessions: number;
  /** Connection attempts in progress; each holds a socket (more through jump hosts) until it connects or times out. */
  private readonly connecting: ConcurrencyLimit;

  private readonly yieldMs: number;

  constructor(private readonly options: SessionManagerOptions) {
    this.yieldMs = options.yieldMs ?? DEFAULTS.execYieldMs;
    this.maxSessions = options.maxSessions ?? DEFAULTS.maxSessions;
    this.connecting = new ConcurrencyLimit(options.maxConnecting ?? DEFAULTS.maxConnecting);
  }

  /**
   * Connect to a saved host and open a shell; the id is a fresh UUID unless one is given. With
   * `askSecret`, a password or key passphrase the host needs but lacks is asked of a person.
   */
  async start(hostId: string, sessionId?: string, options: StartOptions = {}): Promise<SessionInfo> {
    const id = sessionId ?? uuidv4();
    if (!SESSION_ID.test(id)) {
      throw new InvalidCommandError(
        `Invalid sessionId '${id}': use 1 to ${MAX_SESSION_ID_LENGTH} letters, digits or . _ : @ - (or omit it to get a UUID).`,
      );
    }
    if (this.sessions.has(id) || this.starting.has(id)) throw new DuplicateSessionError(id);
    // Starting sessions count too: they may be waiting for a connection slot, and every one will hold a
    // connection. Unbounded, a burst of starts to a silent address ran the process out of file descriptors.
    if (this.sessions.size + this.starting.size >= this.maxSessions) throw new TooManySessionsError(this.maxSessions);
    this.starting.add(id); // before any await, so two concurrent starts cannot both take the id
    try {
      const host = await this.options.hosts.get(hostId);
      const shell = await this.connecting.run(() => this.open(host, id, options.askSecret));
      const now = Date.now();
      const entry: Entry = {
        info: { sessionId: id, hostId: host.host_id, target: `${host.username}@${host.host}:${host.port}`, startedAt: new Date(now).toISOString() },
        lastUsed: now,
        shell,
        queue: new SerialQueue(),
        approvedSimilar: new Set(),
        secrets: [host.password, host.sudoPassword].filter((secret): secret is string => !!secret),
        fileOps: 0,
      };
      this.sessions.set(id, entry);
      this.ended.delete(id);
      shell.onEnd((reason) => this.forget(id, entry, reason));
      this.armIdleTimer(entry);
      this.options.log?.(`session ${id} started on ${entry.info.target}`);
      return describe(entry);
    } finally {
      this.starting.delete(id);
    }
  }

  /** An SSH connection to `host` (through its jump hosts) with a shell on it. */
  private async open(host: ResolvedHost, id: string, ask?: SecretAsker): Promise<ShellSession> {
    const client = await connectAsking(host, this.options.connect, ask);
    try {
      return await ShellSession.open(client, {
        sessionId: id,
        maxOutputBytes: this.options.maxOutputBytes,
        startTimeoutMs: this.options.connect.connectTimeoutMs,
      });
    } catch (error) {
      client.end();
      throw error;
    }
  }

  /** Every live session. */
  list(): SessionInfo[] {
    return [...this.sessions.values()].map(describe);
  }

  /**
   * Run a command and wait for its end, as the library's execSshCommand does: resolves with any
   * exit code, rejects with a typed error on timeout, cancel or a lost session. A command already
   * running in the session is waited for first; if nobody read how it ended, that is dropped.
   */
  async exec(sessionId: string, command: string, options: ExecOptions = {}): Promise<CommandResult> {
    const timeoutMs = this.checkCommand(command, options.timeoutMs);
    // Library calls take turns, so none takes the report of the one before it.
    return this.entry(sessionId).queue.run(() => this.execNow(sessionId, command, timeoutMs, options));
  }

  private async execNow(sessionId: string, command: string, timeoutMs: number, options: ExecOptions): Promise<CommandResult> {
    if (options.sudo) checkSudoCommand(command);
    const clearance = await this.clear(this.entry(sessionId), command, options.approve, options.sudo);
    const password = options.sudo && (await this.sudoPasswordOf(this.entry(sessionId)));
    let entry = this.entry(sessionId);
    for (let earlier = entry.shell.command; earlier?.running; earlier = entry.shell.command) {
      await earlier.whenEnded();
      entry = this.entry(sessionId);
    }
    entry.shell.command?.report();
    const started = await this.launch(entry, command, timeoutMs, clearance, options.sudo, password || undefined);
    await follow(started, Infinity, { signal: options.signal });
    return resultOf(started.report(), sessionId);
  }

  /**
   * Start a command and wait until it ends or `yieldMs` passes, then report: its ending, or
   * that it is still running with the output so far (read on with readOutput). Refused at once
   * while another command runs in the session, or when the last one's ending is unread (the
   * error reports it).
   */
  async run(sessionId: string, command: string, options: RunOptions = {}): Promise<CommandReport> {
    const timeoutMs = this.checkCommand(command, options.timeoutMs);
    const lost = this.unreadOfEnded(sessionId)?.report();
    if (lost) throw new SessionEndedError(sessionId, lost.reason ?? "it ended", lost.output);
    if (options.sudo) checkSudoCommand(command);
    // Taken until the command starts: a call that came later cannot start first while this one
    // awaits its clearance (policy, a person) or sudo's pipe.
    const entry = await this.free(sessionId, undefined, command);
    const claim = entry.claimed;
    let clearance: Clearance;
    let report: CommandReport;
    try {
      clearance = await this.clear(entry, command, options.approve, options.sudo);
      const password = options.sudo && (await this.sudoPasswordOf(entry));
      report = await this.runOnce(sessionId, command, timeoutMs, clearance, options, password || undefined, claim);
    } finally {
      if (entry.claimed === claim) entry.claimed = undefined;
    }
    // sudo wanted a password nobody stored: it refused before running anything, so ask the person and run it again.
    if (!options.sudo || !options.askSecret || !(report.error instanceof SudoPasswordRequiredError)) return report;
    const host = await this.options.hosts.get(entry.info.hostId).catch(() => undefined);
    const answer = await options.askSecret({
      secret: "sudo-password",
      hostId: entry.info.hostId,
      target: entry.info.target,
      canRemember: host?.source === "hosts.json",
    });
    const retried = await this.runOnce(sessionId, command, timeoutMs, clearance, options, answer.secret);
    if (!(retried.error instanceof SudoWrongPasswordError)) await answer.worked();
    return retried;
  }

  /** Start the command once the session is free (checked again: a person may have taken a while), and follow it. */
  private async runOnce(
    sessionId: string,
    command: string,
    timeoutMs: number,
    clearance: Clearance,
    options: RunOptions,
    sudoPassword?: string,
    claim?: Entry["claimed"],
  ) {
    const entry = await this.free(sessionId, claim);
    let started: Command;
    try {
      started = await this.launch(entry, command, timeoutMs, clearance, options.sudo, sudoPassword);
    } finally {
      // Started (the command itself holds the session now) or failed: either way the claim is done.
      if (claim && entry.claimed === claim) entry.claimed = undefined;
    }
    await follow(started, options.yieldMs ?? this.yieldMs, options);
    return started.report();
  }

  /**
   * What the session's command printed since the last report, once it has ended or `waitMs`
   * has passed. Undefined when nothing is running and nothing is unread.
   */
  async readOutput(sessionId: string, waitMs: number = this.yieldMs, options: WaitOptions = {}): Promise<CommandReport | undefined> {
    const command = this.unreadOfEnded(sessionId) ?? this.entry(sessionId).shell.command;
    if (!command) return undefined;
    await watch(command, command.wait(waitMs, options.signal), options.onProgress);
    if (options.signal?.aborted) throw new WaitCancelledError();
    return command.report();
  }

  /**
   * Stop the session's running command as a timeout does, and report it. Undefined when nothing
   * is running and nothing is unread; an ended, unread command is reported as it ended.
   */
  async interrupt(sessionId: string): Promise<CommandReport | undefined> {
    const command = this.unreadOfEnded(sessionId) ?? this.entry(sessionId).shell.command;
    if (!command) return undefined;
    await command.stop("interrupted", true);
    return command.report();
  }

  /**
   * Start a command, or its sudo wrapper (see sudo.ts): with a password, a private FIFO is fed
   * over a second channel just before, and cleaned up when the command ends however it ends.
   */
  private async launch(entry: Entry, text: string, timeoutMs: number, clearance: Clearance, sudo?: SudoRequest, password?: string): Promise<Command> {
    if (!sudo) return this.startOn(entry, text, timeoutMs, clearance);
    const pipe = password === undefined ? undefined : await entry.shell.openSudoPipe(password);
    const plan = planSudo(text, sudo, pipe?.path);
    try {
      const filter = sudoOutputFilter(plan, { hostId: entry.info.hostId, target: entry.info.target });
      const command = this.startOn(entry, text, timeoutMs, clearance, { script: plan.script, filter }, sudo.user);
      if (pipe) void command.whenEnded().then(() => pipe.release());
      return command;
    } catch (error) {
      await pipe?.release();
      throw error;
    }
  }

  /** The session's host's sudoPassword as stored now, unless the host_id has since been pointed at another account or machine. */
  private async sudoPasswordOf(entry: Entry): Promise<string | undefined> {
    const host = await this.options.hosts.get(entry.info.hostId).catch(() => undefined);
    if (!host || `${host.username}@${host.host}:${host.port}` !== entry.info.target) return undefined;
    return host.sudoPassword;
  }

  /**
   * A file operation on a session's host, under the host's policy and in the audit log. One that
   * writes is judged as "<kind> <absolute path>" (so rules can name paths, and read-only refuses it)
   * before anything changes; the operation then gets that same absolute path.
   */
  async fileOperation<T extends object>(
    sessionId: string,
    op: { kind: string; path: string; argument: string; writes: boolean; approve?: Approver },
    run: (files: RemoteFiles, path: string) => Promise<T>,
  ): Promise<T> {
    const entry = this.entry(sessionId);
    const files = this.files(sessionId);
    const path = await files.resolve(op.path, op.argument);
    const subject = { kind: op.kind, path };
    const clearance = op.writes ? await this.clear(entry, `${op.kind} ${path}`, op.approve, undefined, subject) : UNGUARDED_READ;
    const started = Date.now();
    const log = (fields: Partial<AuditRecord>) =>
      this.record(entry, started, { ...subject, decision: clearance.decision, durationMs: Date.now() - started, ...fields });
    try {
      const result = await run(files, path);
      const { bytes, localPath } = result as { bytes?: unknown; localPath?: unknown };
      log({ status: "done", ...(typeof bytes === "number" && { bytes }), ...(typeof localPath === "string" && { localPath }) });
      return result;
    } catch (error) {
      log({ status: "failed", reason: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }

  /** A session's remote files: SFTP on its connection, opened on first use and closed with the session. */
  files(sessionId: string): RemoteFiles {
    const entry = this.entry(sessionId);
    const known = this.remoteFiles.get(entry.shell);
    if (known) return known;
    const files = new RemoteFiles({
      ...entry.shell.connection,
      sessionId,
      maxTextBytes: this.options.maxOutputBytes,
      homeDir: this.options.connect.homeDir ?? homedir(),
      busy: (delta) => {
        entry.fileOps += delta;
        this.touch(entry);
      },
    });
    this.remoteFiles.set(entry.shell, files);
    entry.shell.onEnd(() => files.close());
    return files;
  }

  /** Resolves with the reason once the session has ended (at once if it already has). */
  waitForEnd(sessionId: string): Promise<string> {
    const ended = this.ended.get(sessionId);
    if (ended !== undefined) return Promise.resolve(ended.reason);
    const { shell } = this.entry(sessionId);
    return new Promise((resolve) => shell.onEnd(resolve));
  }

  /**
   * The session, once it can take a command: a command being stopped is waited for (it is gone
   * within seconds); a running one, or one another call is preparing (not `mine`), is refused
   * (SessionBusyError); an unread ending is reported. With `claimFor`, the session is then claimed
   * for that command.
   */
  private async free(sessionId: string, mine?: Entry["claimed"], claimFor?: string): Promise<Entry> {
    let entry = this.entry(sessionId);
    let earlier = entry.shell.command;
    while (earlier?.stopping) {
      await earlier.whenEnded();
      entry = this.entry(sessionId);
      earlier = entry.shell.command;
    }
    if (earlier?.running) throw new SessionBusyError(sessionId, earlier.text, earlier.elapsedMs());
    if (entry.claimed && entry.claimed !== mine) throw new SessionBusyError(sessionId, entry.claimed.command, Date.now() - entry.claimed.since);
    if (earlier) {
      const report = earlier.report();
      throw new UnreadEndingError(sessionId, report, describeReport(report, sessionId).text);
    }
    // In the same turn as the checks, so no other call can pass them in between.
    if (claimFor !== undefined) entry.claimed = { command: claimFor, since: Date.now() };
    return entry;
  }

  /**
   * Apply the host's policy to `judged` (a command, or "write-file /path"), asking the person if it
   * says so; a refusal is logged (as `subject`) and thrown.
   */
  private async clear(entry: Entry, judged: string, approve?: Approver, sudo?: SudoRequest, subject?: Partial<AuditRecord>): Promise<Clearance> {
    const guard = this.options.guard;
    if (!guard) return UNGUARDED;
    const { hostId, target } = entry.info;
    try {
      return await guard.clear({ hostId, target, command: judged, sudo: sudo !== undefined, approvedSimilar: entry.approvedSimilar }, approve);
    } catch (error) {
      if (error instanceof CommandRefusedError) {
        this.record(entry, Date.now(), {
          kind: "exec",
          ...(subject ?? auditedCommand(judged)),
          ...(sudo && { sudo: sudo.user }),
          decision: error.decision,
          reason: error.reason,
        });
      }
      throw error;
    }
  }

  private startOn(entry: Entry, text: string, timeoutMs: number, clearance: Clearance, wrapped?: Wrapped, sudoUser?: string): Command {
    const command = entry.shell.start(text, timeoutMs, wrapped);
    this.touch(entry);
    // The idle timer counts from the end of a command, not its start.
    void command.whenEnded().then(() => {
      this.touch(entry);
      this.audit(entry, command, clearance, sudoUser);
    });
    return command;
  }

  /** One audit line for a command that ran. */
  private audit(entry: Entry, command: Command, clearance: Clearance, sudoUser?: string): void {
    const ending = command.peekEnding();
    this.record(entry, command.startedAt, {
      kind: "exec",
      ...auditedCommand(command.text),
      ...(sudoUser !== undefined && { sudo: sudoUser }),
      decision: clearance.decision,
      ...(clearance.decision === "approved" && { reason: clearance.reason }),
      status: ending.status,
      exitStatus: ending.exitCode,
      durationMs: command.elapsedMs(),
      outputBytes: command.totalOutputBytes,
    });
  }

  /**
   * Append an audit line about `entry`'s session, with its stored secrets masked. Written after
   * the caller's result is on its way: the log line is never on the exec path.
   */
  private record(entry: Entry, startedAt: number, fields: Omit<AuditRecord, "time" | "hostId" | "target" | "sessionId">): void {
    const log = this.options.audit;
    if (!log) return;
    const { hostId, target, sessionId } = entry.info;
    const line = { time: new Date(startedAt).toISOString(), hostId, target, sessionId, ...fields };
    setImmediate(() => void log.append(line, entry.secrets));
  }

  /** The command a session took with it when it ended, if nobody has seen that yet. */
  private unreadOfEnded(sessionId: string): Command | undefined {
    const ended = this.ended.get(sessionId);
    if (!ended?.unread || this.sessions.has(sessionId)) return undefined;
    const { unread } = ended;
    ended.unread = undefined;
    return unread;
  }

  /** Close a session and its connection. */
  async close(sessionId: string): Promise<void> {
    await this.entry(sessionId).shell.close("it was closed with close-session");
  }

  /** Close every session (server shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((entry) => entry.shell.close("the server shut down")));
    // The audit lines of commands that ended with their sessions are queued by now: write them out.
    await new Promise((resolve) => setImmediate(resolve));
    await this.options.audit?.close();
  }

  private entry(sessionId: string): Entry {
    const entry = this.sessions.get(sessionId);
    if (!entry) throw new SessionNotFoundError(sessionId, [...this.sessions.keys()], this.ended.get(sessionId)?.reason);
    return entry;
  }

  /** Refuse a command no shell can take; returns the timeout to use. */
  private checkCommand(command: string, timeoutMs = this.options.execTimeoutMs): number {
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMER_MS) {
      throw new InvalidCommandError(
        `Invalid timeout_ms ${timeoutMs}: give a whole number of milliseconds from 1 to ${MAX_TIMER_MS} (about 24.8 days).`,
      );
    }
    if (typeof command !== "string" || command.trim() === "") {
      throw new InvalidCommandError("The command is empty. Give a shell command to run, such as 'ls -la'.");
    }
    if (command.includes("\0")) {
      throw new InvalidCommandError("The command contains a NUL byte, which no shell can receive. Remove it and try again.");
    }
    const bytes = Buffer.byteLength(command, "utf8");
    if (bytes > this.options.maxCommandBytes) {
      throw new InvalidCommandError(
        `The command is ${bytes} bytes; the limit is ${this.options.maxCommandBytes}. ` +
          `Split it up, or copy large content over in several smaller commands.`,
      );
    }
    return timeoutMs;
  }

  // Called at the start and end of every command: the hot path, so no new timers or dates here.
  private touch(entry: Entry): void {
    entry.lastUsed = Date.now();
    entry.idleTimer?.refresh();
  }

  private armIdleTimer(entry: Entry): void {
    const ms = this.options.idleTimeoutMs;
    entry.idleTimer = setTimeout(() => {
      // A long command is not idleness: look again a full period after it ends.
      if (entry.shell.command?.running || entry.fileOps > 0) return entry.idleTimer?.refresh();
      void entry.shell.close(`it was idle for ${ms} ms (SSH_MCP_IDLE_TIMEOUT_MS)`);
    }, ms);
    entry.idleTimer.unref();
  }

  private forget(id: string, entry: Entry, reason: string): void {
    clearTimeout(entry.idleTimer);
    if (this.sessions.get(id) === entry) this.sessions.delete(id);
    const unread = entry.shell.command;
    this.ended.set(id, unread ? { reason, unread } : { reason });
    if (this.ended.size > ENDED_MEMORY) this.ended.delete(this.ended.keys().next().value!);
    this.options.log?.(`session ${id} ended: ${reason}`);
  }
}

const UNGUARDED: Clearance = { decision: "allowed", reason: "no policy" };
const UNGUARDED_READ: Clearance = { decision: "allowed", reason: "reads are not judged" };

/** The command as the audit log keeps it: cut past MAX_AUDIT_COMMAND_CHARS, with its full size. */
function auditedCommand(text: string): { command: string; commandBytes?: number } {
  if (text.length <= MAX_AUDIT_COMMAND_CHARS) return { command: text };
  return { command: text.slice(0, MAX_AUDIT_COMMAND_CHARS), commandBytes: Buffer.byteLength(text) };
}

function describe(entry: Entry): SessionInfo {
  const info: SessionInfo = { ...entry.info, lastUsedAt: new Date(entry.lastUsed).toISOString() };
  const command = entry.shell.command;
  if (command?.running) info.running = { command: command.text, forMs: command.elapsedMs() };
  return info;
}
