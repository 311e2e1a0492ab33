import { SshMcpError } from "../errors.js";

/** Which machine a path is on: the session's host, or the one ssh-mcp runs on. */
export type Side = "remote" | "local";

const where = (side: Side) => (side === "remote" ? "on the host" : "on this machine");

/** A path argument that cannot be used as given. */
export class InvalidPathError extends SshMcpError {}

/** edit-file arguments that cannot describe a change. */
export class InvalidEditError extends SshMcpError {}

/** The file (or a directory on its way) does not exist. */
export class FileNotFoundError extends SshMcpError {
  constructor(
    readonly path: string,
    readonly side: Side,
    options?: { cause?: unknown; directory?: boolean },
  ) {
    super(`No such ${options?.directory ? "directory" : "file"} ${where(side)}: ${path}.`, options);
  }
}

/** The login (remote) or the server's user (local) may not do this to the path. */
export class FilePermissionError extends SshMcpError {
  constructor(
    readonly path: string,
    readonly side: Side,
    action: string,
    options?: { cause?: unknown },
  ) {
    const who = side === "remote" ? "the session's user" : "ssh-mcp's user";
    super(`Permission denied ${where(side)}: ${who} cannot ${action} ${path}.`, options);
  }
}

/** A directory (or a device, a FIFO...) where a regular file is needed. */
export class NotAFileError extends SshMcpError {
  constructor(
    readonly path: string,
    readonly side: Side,
    readonly kind: "a directory" | "not a regular file" | "not a directory",
  ) {
    const hint = kind === "a directory" ? " Give the path of a file in it; a directory is never replaced by a file." : "";
    super(`${path} ${where(side)} is ${kind}.${hint}`);
  }
}

/** The target exists and the call did not say to replace it. */
export class FileExistsError extends SshMcpError {
  constructor(
    readonly path: string,
    readonly side: Side,
  ) {
    super(`${path} already exists ${where(side)}. Pass overwrite: true to replace it, or choose another path.`);
  }
}

/** No space left on the filesystem being written. */
export class DiskFullError extends SshMcpError {
  constructor(
    readonly path: string,
    readonly side: Side,
    options?: { cause?: unknown },
  ) {
    super(`Disk full ${where(side)} while writing ${path}; nothing was changed there. Free some space and try again.`, options);
  }
}

/** read-file and edit-file work on text; this file is not valid UTF-8. */
export class NotUtf8Error extends SshMcpError {
  constructor(
    readonly path: string,
    readonly size: number,
  ) {
    super(`${path} is not valid UTF-8 text (${size} bytes). Use download to copy it here, or exec with iconv or od to look at it.`);
  }
}

/** read-file refuses binary files: their bytes mean nothing as text. */
export class BinaryFileError extends SshMcpError {
  constructor(
    readonly path: string,
    readonly size: number,
  ) {
    super(`${path} is a binary file (${size} bytes; it contains NUL bytes). Use download to copy it here.`);
  }
}

/** Too big to read as text through the model's context. */
export class FileTooLargeError extends SshMcpError {
  constructor(
    readonly path: string,
    readonly size: number,
    readonly max: number,
  ) {
    super(
      `${path} is too large for read-file and edit-file (${size} bytes; the limit is ${max}). ` +
        `Use download to copy it here, or exec with grep, head or tail to look inside.`,
    );
  }
}

/** edit-file's old_text is absent, or ambiguous without replace_all. */
export class EditMatchError extends SshMcpError {
  constructor(
    readonly path: string,
    readonly count: number,
    hint = "",
  ) {
    super(
      count === 0
        ? `old_text was not found in ${path}; nothing was changed. It must match exactly, whitespace and line endings included: read-file shows the text.${hint}`
        : `old_text appears ${count} times in ${path}; nothing was changed. Add surrounding lines to old_text so it matches once, or pass replace_all: true to replace all ${count}.`,
    );
  }
}

/** The host offers no SFTP subsystem, which every file tool needs. */
export class SftpUnavailableError extends SshMcpError {
  constructor(
    readonly sessionId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `The host of session '${sessionId}' has no SFTP subsystem (${reason}), which read-file, write-file, edit-file, upload and download need. ` +
        `Enable it in sshd_config (Subsystem sftp /usr/lib/openssh/sftp-server) or install sftp-server (Dropbear runs it when installed); meanwhile use exec (cat, heredocs).`,
      options,
    );
  }
}

/** The session's current directory could not be found, so a relative path has no meaning. */
export class CwdUnknownError extends SshMcpError {
  constructor(readonly path: string) {
    super(`Could not find the session's current directory to resolve ${path} (the host has neither /proc nor lsof). Give an absolute path or one starting with ~/.`);
  }
}

/** Any other failure, with the cause in the server's own words. */
export class FileOperationError extends SshMcpError {
  constructor(
    readonly path: string,
    readonly side: Side,
    action: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Could not ${action} ${path} ${where(side)}: ${detail}.`, options);
  }
}

/** The client cancelled a transfer; its partial file was removed. */
export class TransferCancelledError extends SshMcpError {
  constructor() {
    super("The transfer was cancelled; no partial file was left at the target.");
  }
}
