import { SshMcpError, listSome } from "../errors.js";

/** No saved host has this host_id. */
export class HostNotFoundError extends SshMcpError {
  readonly hostId: string;
  readonly knownIds: string[];

  constructor(hostId: string, knownIds: string[]) {
    // A library caller's id is not length-checked by any schema.
    const shown = hostId.length > 80 ? `${hostId.slice(0, 77)}...` : hostId;
    super(
      knownIds.length === 0
        ? `No host '${shown}'. No hosts are saved yet. Add one with add-host.`
        : `No host '${shown}'. Known hosts: ${listSome(knownIds, "list-hosts")}. Add it with add-host.`,
    );
    this.hostId = hostId;
    this.knownIds = knownIds;
  }
}

/** add-host was given a host_id that is already saved. */
export class DuplicateHostError extends SshMcpError {
  readonly hostId: string;

  constructor(hostId: string) {
    super(`A host '${hostId}' already exists. Choose another host_id, or change it with edit-host.`);
    this.hostId = hostId;
  }
}

/** A host field failed validation; the message says what is wrong and what is accepted (never a password). */
export class InvalidHostError extends SshMcpError {
  /** The offending field, e.g. "port"; "patch" for an edit that changes nothing. */
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.field = field;
  }
}

/** add-host would take hosts.json past MAX_HOSTS. */
export class TooManyHostsError extends SshMcpError {
  constructor(readonly max: number) {
    super(`hosts.json already holds ${max} hosts, the most ssh-mcp keeps. Remove hosts you no longer need with remove-host, then add this one.`);
  }
}

/** hosts.json exists but is not valid JSON or not of the documented shape; ssh-mcp leaves it untouched. */
export class HostsFileError extends SshMcpError {
  readonly file: string;
  /** What is wrong, e.g. "is not valid JSON (syntax error at line 1, column 2)". */
  readonly problem: string;

  constructor(file: string, problem: string, cause?: unknown) {
    super(`${file} ${problem}. Fix it by hand or move it away; ssh-mcp will not overwrite it.`, { cause });
    this.file = file;
    this.problem = problem;
  }
}

/** hosts.json or its directory could not be read or written (permissions, disk full...). */
export class HostStoreIoError extends SshMcpError {
  readonly path: string;

  constructor(path: string, action: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Cannot ${action} ${path}: ${reason}. Check its permissions and free disk space.`, { cause });
    this.path = path;
  }
}

/** A live writer held hosts.json.lock for longer than the lock timeout. */
export class HostStoreLockError extends SshMcpError {
  readonly file: string;
  readonly lockFile: string;
  readonly timeoutMs: number;
  /** Pid written in the lock file, when it could be read. */
  readonly holderPid?: number;

  constructor(file: string, details: { lockFile?: string; timeoutMs?: number; holderPid?: number } = {}) {
    const { lockFile = `${file}.lock`, timeoutMs = 0, holderPid } = details;
    const holder = holderPid === undefined ? "another process" : `process ${holderPid}`;
    super(
      `Could not lock ${file}${timeoutMs > 0 ? ` within ${timeoutMs} ms` : ""}: ${holder} holds ${lockFile}. ` +
        `Try again; if that process is stuck, stop it (the lock of a process that has exited is taken over automatically).`,
    );
    this.file = file;
    this.lockFile = lockFile;
    this.timeoutMs = timeoutMs;
    if (holderPid !== undefined) this.holderPid = holderPid;
  }
}

/** A file or directory that must stay private cannot be trusted (others can write it, another user owns it, it is a link...); nothing was changed. */
export class UnsafePathError extends SshMcpError {
  readonly path: string;
  /** What is wrong, e.g. "is writable by other users (mode 0666)". */
  readonly problem: string;

  constructor(path: string, problem: string, fix: string) {
    super(`${path} ${problem}, so ssh-mcp will not use it. ${fix}`);
    this.path = path;
    this.problem = problem;
  }
}
