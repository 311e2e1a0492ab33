import { constants } from "node:fs";
import { open, rename, stat, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { withFileLock } from "../hosts/file-lock.js";
import { ensurePrivateDir } from "../hosts/private-path.js";

/** One line of the audit log: one command or file operation, however it was decided and ended. */
export interface AuditRecord {
  time: string;
  hostId: string;
  /** user@host:port */
  target: string;
  sessionId: string;
  /** "exec", or the file tool's name. */
  kind: string;
  command?: string;
  /** Bytes of the command, when the text kept here was cut. */
  commandBytes?: number;
  /** The user the command ran as through sudo. */
  sudo?: string;
  /** A file operation's remote path (absolute), and for transfers the local one. */
  path?: string;
  localPath?: string;
  bytes?: number;
  decision: "allowed" | "approved" | "declined" | "denied";
  /** Why, for declined and denied (and which rule allowed or asked). */
  reason?: string;
  /** How the command ended: exited, timed_out, interrupted, session_ended; a file operation: done or failed. Absent when it never ran. */
  status?: string;
  exitStatus?: number | null;
  durationMs?: number;
  outputBytes?: number;
}

/** Where the log goes and when it rotates. */
export interface AuditLogOptions {
  file: string;
  /** Rotate once the file reaches this size (default 10 MiB). */
  maxBytes?: number;
  warn?: (message: string) => void;
}

/** Longest command text kept in a line; longer ones are cut, with their full size recorded. */
export const MAX_AUDIT_COMMAND_CHARS = 64 * 1024;
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
const REOPEN_CHECK_MS = 1000;

/**
 * An append-only JSON-lines log (~/.ssh-mcp/audit.jsonl, 0600). Each record is one write() of
 * one line to a file opened O_APPEND, so lines from several server processes never interleave.
 * At the size limit the file is renamed to audit.<time>.jsonl under a cross-process lock and a
 * new one begins; a process still holding the old file writes on into the renamed one until it
 * notices (within a second), so no line is lost, and rotated files are never deleted by us.
 * Writes are queued off the caller's path: a command's result never waits for its log line.
 */
export class AuditLog {
  private handle: FileHandle | undefined;
  private ino = -1;
  /** The file's size as far as we know: from its stat when opened, plus what we wrote since. */
  private size = 0;
  private checkedAt = 0;
  private tail: Promise<void> = Promise.resolve();
  private readonly maxBytes: number;

  constructor(private readonly options: AuditLogOptions) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  /** Append a record; `secrets` found in its text are masked. Resolves once it is written. */
  append(record: AuditRecord, secrets: readonly string[] = []): Promise<void> {
    const line = Buffer.from(mask(JSON.stringify(record), secrets) + "\n");
    this.tail = this.tail.then(() => this.write(line)).catch((error: unknown) =>
      this.options.warn?.(`could not write the audit log ${this.options.file}: ${(error as Error).message}`),
    );
    return this.tail;
  }

  /** Wait for queued lines, then close the file. */
  async close(): Promise<void> {
    await this.tail;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  private async write(line: Buffer): Promise<void> {
    const handle = await this.file();
    await handle.write(line);
    // Our own count saves a stat per line; other writers' lines are counted when we reopen.
    this.size += line.length;
    if (this.size >= this.maxBytes) await this.rotate();
  }

  /** Our handle on the current file, reopened when another process rotated it. */
  private async file(): Promise<FileHandle> {
    const now = Date.now();
    if (this.handle && now - this.checkedAt < REOPEN_CHECK_MS) return this.handle;
    this.checkedAt = now;
    const current = await stat(this.options.file).then((s) => s.ino, () => -1);
    if (this.handle && current === this.ino) return this.handle;
    await this.handle?.close().catch(() => undefined);
    await ensurePrivateDir(dirname(this.options.file));
    // O_NOFOLLOW: a link planted where the log goes must not redirect it.
    this.handle = await open(this.options.file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    await this.handle.chmod(0o600);
    const opened = await this.handle.stat();
    this.ino = opened.ino;
    this.size = opened.size;
    return this.handle;
  }

  private async rotate(): Promise<void> {
    const file = this.options.file;
    await withFileLock(file, { timeoutMs: 5000, staleMs: 30_000 }, async () => {
      // Another process may have rotated it while we waited.
      const now = await stat(file).catch(() => undefined);
      if (!now || now.size < this.maxBytes) {
        this.size = now?.size ?? 0;
        return;
      }
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      await rename(file, join(dirname(file), `audit.${stamp}.${process.pid}.jsonl`));
    });
    this.checkedAt = 0; // reopen before the next line
  }
}

/** Replace each secret (4 characters or more, as JSON would write it) by "***". */
function mask(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    const inJson = JSON.stringify(secret).slice(1, -1);
    out = out.split(inJson).join("***");
  }
  return out;
}
