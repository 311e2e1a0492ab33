// The shapes SessionManager takes and returns, apart so the manager reads as behaviour.
import type { AuditLog } from "../audit/audit-log.js";
import type { ResolvedHost } from "../hosts/resolved-host.js";
import type { Approver, Guard } from "../policy/guard.js";
import type { SecretAsker } from "../ssh/ask-secret.js";
import type { ConnectOptions } from "../ssh/connect.js";
import type { Progress } from "./progress.js";
import type { SudoRequest } from "./sudo.js";

/** Where the manager finds hosts by id, with their jump hosts resolved (a HostDirectory). */
export interface HostLookup {
  get(hostId: string): Promise<ResolvedHost>;
}

/** Limits and collaborators of a SessionManager. */
export interface SessionManagerOptions {
  hosts: HostLookup;
  connect: ConnectOptions;
  idleTimeoutMs: number;
  execTimeoutMs: number;
  /** How long run() and readOutput() wait for a command to end before handing back (default 30 s). */
  yieldMs?: number;
  maxOutputBytes: number;
  maxCommandBytes: number;
  /** Live sessions at once, counting those connecting (default 50). */
  maxSessions?: number;
  /** Sessions connecting at once (default 10); more starts wait their turn. */
  maxConnecting?: number;
  log?: (message: string) => void;
  /** Applies the person's command policy before anything is sent. */
  guard?: Guard;
  /** Where every command is recorded. */
  audit?: AuditLog;
}

/** A live session as list-sessions shows it. */
export interface SessionInfo {
  sessionId: string;
  hostId: string;
  /** user@host:port */
  target: string;
  startedAt: string;
  lastUsedAt: string;
  /** The command still running there, if any, and for how long. */
  running?: { command: string; forMs: number };
}

/** Per-call options of start. */
export interface StartOptions {
  /** Asks a person for a password or passphrase the host needs and lacks (see SecretAsker). */
  askSecret?: SecretAsker;
}

/** Per-call options of exec. */
export interface ExecOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Asks a person when the host's policy wants approval. */
  approve?: Approver;
  /** Run the command through sudo as this user, in a child of the session's shell (see sudo.ts). */
  sudo?: SudoRequest;
}

/** Per-call options of run: exec's, plus when to hand back and where progress goes. */
export interface RunOptions extends WaitOptions {
  timeoutMs?: number;
  /** Asks a person when the host's policy wants approval. */
  approve?: Approver;
  /** Run the command through sudo as this user, in a child of the session's shell (see sudo.ts). */
  sudo?: SudoRequest;
  /** Asks a person for a sudo password the host lacks and sudo needs. */
  askSecret?: SecretAsker;
  /** Hand back after this many milliseconds if the command is still running (default: the yieldMs option). */
  yieldMs?: number;
}

/** How long readOutput waits, and where progress goes meanwhile. */
export interface WaitOptions {
  /** For run, aborting interrupts the command; for readOutput it only stops the wait. */
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}
