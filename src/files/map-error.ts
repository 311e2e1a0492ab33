import { SshMcpError } from "../errors.js";
import {
  DiskFullError,
  FileExistsError,
  FileNotFoundError,
  FileOperationError,
  FilePermissionError,
  NotAFileError,
  type Side,
} from "./file-errors.js";

/** SFTP status codes (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks). */
export const SFTP_NO_SUCH_FILE = 2;
export const SFTP_PERMISSION_DENIED = 3;

/**
 * Turn an SFTP status or a Node errno into our typed error, naming the path and what was being
 * done. OpenSSH's sftp-server reports most other errnos (EISDIR, ENOSPC) only as "Failure", so
 * callers check for directories and free space themselves where it matters.
 */
export function fileError(error: unknown, path: string, side: Side, action: string): Error {
  if (error instanceof SshMcpError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const options = { cause: error };
  if (code === SFTP_NO_SUCH_FILE || code === "ENOENT" || code === "ENOTDIR") return new FileNotFoundError(path, side, options);
  if (code === SFTP_PERMISSION_DENIED || code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return new FilePermissionError(path, side, action, options);
  }
  if (code === "EISDIR") return new NotAFileError(path, side, "a directory");
  if (code === "ENOSPC" || code === "EDQUOT") return new DiskFullError(path, side, options);
  if (code === "EEXIST") return new FileExistsError(path, side);
  const detail = error instanceof Error ? error.message : String(error);
  return new FileOperationError(path, side, action, detail, options);
}
