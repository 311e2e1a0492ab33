import { homedir } from "node:os";
import { v4 as uuidv4 } from "uuid";
import { ConcurrencyLimit } from "../concurrency-limit.js";
import { DEFAULTS, MAX_TIMER_MS } from "../config.js";
import type { HostConfig } from "../hosts/host-config.js";
import type { ConnectOptions } from "../ssh/connect.js";
import { RemoteFiles } from "../files/remote-files.js";
import { connectWithJumps } from "../ssh/proxy-jump.js";
import { ShellSession, type CommandResult } from "./shell-session.js";
import {
  DuplicateSessionError,
  InvalidCommandError,
  SessionNotFoundError,
  TooManySessionsError,
} from "./session-errors.js";

/** Where the manager finds saved hosts (a HostStore, or anything that resolves ids the same way). */
export interface HostLookup {
  get(hostId: string): Promise<HostConfig>;
}

/** Limits and collaborators of a SessionManager. */
export interface SessionManagerOptions {
  hosts: HostLookup;
  connect: ConnectOptions;
  idleTimeoutMs: number;
  execTimeoutMs: number;
  maxOutputBytes: number;
  maxCommandBytes: number;
  /** Live sessions at once, counting those connecting (default 50). */
  maxSessions?: number;
  /** Sessions connecting at once (default 10); more starts wait their turn. */
  maxConnecting?: number;
  log?: (message: string) => void;
}

/** A live session as list-sessions shows it. */
export interface SessionInfo {
  sessionId: string;
  hostId: string;
  /** user@host:port */
  target: string;
  startedAt: string;
  lastUsedAt: string;
}

/** Per-call options of exec. */
export interface ExecOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Entry {
  info: Omit<SessionInfo, "lastUsedAt">;
  lastUsed: number;
  shell: ShellSession;
  idleTimer?: NodeJS.Timeout;
  busy: number;
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
  private readonly ended = new Map<string, string>();
  /** Each session's files (see files()), kept apart from Entry so the two concerns stay separate. */
  private readonly remoteFiles = new WeakMap<ShellSession, RemoteFiles>();

  private readonly maxSessions: number;
  /** Connection attempts in progress; each holds a socket (more through jump hosts) until it connects or times out. */
  private readonly connecting: ConcurrencyLimit;

  constructor(private readonly options: SessionManagerOptions) {
    this.maxSessions = options.maxSessions ?? DEFAULTS.maxSessions;
    this.connecting = new ConcurrencyLimit(options.maxConnecting ?? DEFAULTS.maxConnecting);
  }

  /** Connect to a saved host and open a shell; the id is a fresh UUID unless one is given. */
  async start(hostId: string, sessionId?: string): Promise<SessionInfo> {
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
      const shell = await this.connecting.run(() => this.open(host, id));
      const now = Date.now();
      const entry: Entry = {
        info: { sessionId: id, hostId: host.host_id, target: `${host.username}@${host.host}:${host.port}`, startedAt: new Date(now).toISOString() },
        lastUsed: now,
        shell,
        busy: 0,
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
  private async open(host: HostConfig, id: string): Promise<ShellSession> {
    const client = await connectWithJumps(host, (jumpId) => this.options.hosts.get(jumpId), this.options.connect);
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

  /** Run a command in a session's shell, after any already queued there. Resolves with any exit code. */
  async exec(sessionId: string, command: string, options: ExecOptions = {}): Promise<CommandResult> {
    this.checkCommand(command);
    const timeoutMs = options.timeoutMs ?? this.options.execTimeoutMs;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMER_MS) {
      throw new InvalidCommandError(
        `Invalid timeout_ms ${timeoutMs}: give a whole number of milliseconds from 1 to ${MAX_TIMER_MS} (about 24.8 days).`,
      );
    }
    const entry = this.entry(sessionId);
    this.touch(entry, +1);
    try {
      return await entry.shell.run(command, timeoutMs, options.signal);
    } finally {
      this.touch(entry, -1);
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
      busy: (delta) => this.touch(entry, delta),
    });
    this.remoteFiles.set(entry.shell, files);
    entry.shell.onEnd(() => files.close());
    return files;
  }

  /** Resolves with the reason once the session has ended (at once if it already has). */
  waitForEnd(sessionId: string): Promise<string> {
    const reason = this.ended.get(sessionId);
    if (reason !== undefined) return Promise.resolve(reason);
    const { shell } = this.entry(sessionId);
    return new Promise((resolve) => shell.onEnd(resolve));
  }

  /** Close a session and its connection. */
  async close(sessionId: string): Promise<void> {
    await this.entry(sessionId).shell.close("it was closed with close-session");
  }

  /** Close every session (server shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((entry) => entry.shell.close("the server shut down")));
  }

  private entry(sessionId: string): Entry {
    const entry = this.sessions.get(sessionId);
    if (!entry) throw new SessionNotFoundError(sessionId, [...this.sessions.keys()], this.ended.get(sessionId));
    return entry;
  }

  private checkCommand(command: string): void {
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
  }

  // Called at the start and end of every exec: the hot path, so no new timers or dates here.
  private touch(entry: Entry, delta: number): void {
    entry.busy += delta;
    entry.lastUsed = Date.now();
    entry.idleTimer?.refresh();
  }

  private armIdleTimer(entry: Entry): void {
    const ms = this.options.idleTimeoutMs;
    entry.idleTimer = setTimeout(() => {
      // A long command is not idleness: look again a full period after it ends.
      if (entry.busy > 0) return entry.idleTimer?.refresh();
      void entry.shell.close(`it was idle for ${ms} ms (SSH_MCP_IDLE_TIMEOUT_MS)`);
    }, ms);
    entry.idleTimer.unref();
  }

  private forget(id: string, entry: Entry, reason: string): void {
    clearTimeout(entry.idleTimer);
    if (this.sessions.get(id) === entry) this.sessions.delete(id);
    this.ended.set(id, reason);
    if (this.ended.size > ENDED_MEMORY) this.ended.delete(this.ended.keys().next().value!);
    this.options.log?.(`session ${id} ended: ${reason}`);
  }
}

function describe(entry: Entry): SessionInfo {
  return { ...entry.info, lastUsedAt: new Date(entry.lastUsed).toISOString() };
}
