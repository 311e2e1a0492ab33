import { constants } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { quoteForShell } from "../errors.js";
import { SerialQueue } from "../serial-queue.js";
import { writeFileAtomic } from "./atomic-write.js";
import { withFileLock } from "./file-lock.js";
import type { HostConfig, HostInput, HostPatch } from "./host-config.js";
import { DuplicateHostError, HostNotFoundError, HostStoreIoError, TooManyHostsError, UnsafePathError } from "./host-errors.js";
import { MAX_HOSTS } from "./host-fields.js";
import {
  applyChanges,
  checkJumpChain,
  checkNotJumpHost,
  validateNewHost,
  validatePatch,
  type HostEdit,
} from "./host-validation.js";
import { appendToHostsFile, formatHostsFile, parseHostsFile } from "./hosts-file.js";
import { checkPrivateDir, ensurePrivateDir, formatMode, openPrivateFile, type PathCheck } from "./private-path.js";

export type { HostConfig, HostInput, HostPatch } from "./host-config.js";
export type { HostEdit, TargetField } from "./host-validation.js";
export { expandHome } from "./expand-home.js";

/** Where the store lives and how it reports and waits. */
export interface HostStoreOptions {
  /** Directory holding hosts.json, e.g. path.join(os.homedir(), ".ssh-mcp"). */
  dir: string;
  /** stderr logger for permission warnings and fixes; never given secrets. */
  warn?: (message: string) => void;
  /** For "~" expansion when checking keyPath; default os.homedir(). */
  homeDir?: string;
  /** How long a write waits for another process's lock; default 10 s. */
  lockTimeoutMs?: number;
}

const FILE_MODE = 0o600;
// A write holds the lock for milliseconds; a lock this old was left by a writer that crashed.
const STALE_LOCK_MS = 30_000;

/** Saved hosts in `<dir>/hosts.json`: validated, written atomically, serialised within and across processes. */
export class HostStore {
  readonly file: string;
  private readonly dir: string;
  private readonly warn: (message: string) => void;
  private readonly homeDir: string;
  private readonly lockTimeoutMs: number;
  /** Warnings already given, so a loose file does not repeat its warning on every call. */
  private readonly warned = new Set<string>();
  /** In-process write queue; the file lock alone would make our own writers spin against each other. */
  private readonly writes = new SerialQueue();
  /**
   * The last hosts.json text read or written and its hosts (never handed out: callers get copies);
   * `formatted` when the text is formatHostsFile(hosts). With thousands of hosts, parsing, validating
   * and formatting them all again was most of the cost of every add.
   */
  private last?: { text: string; hosts: readonly HostConfig[]; formatted: boolean };

  constructor(options: HostStoreOptions) {
    this.dir = options.dir;
    this.file = join(options.dir, "hosts.json");
    this.warn = options.warn ?? ((message) => process.stderr.write(`ssh-mcp: ${message}\n`));
    this.homeDir = options.homeDir ?? homedir();
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  }

  /** All saved hosts, in the order they were added. */
  async list(): Promise<HostConfig[]> {
    return (await this.read()).map((h) => ({ ...h }));
  }

  /** The host saved as `hostId`; HostNotFoundError otherwise. */
  async get(hostId: string): Promise<HostConfig> {
    const hosts = await this.read();
    const host = hosts.find((h) => h.host_id === hostId);
    if (!host) throw new HostNotFoundError(hostId, hosts.map((h) => h.host_id));
    return { ...host };
  }

  /** Validate and save a new host (port defaults to 22); DuplicateHostError if the host_id is taken. */
  async add(input: HostInput): Promise<HostConfig> {
    const host = await validateNewHost(input, this.homeDir);
    return this.update((hosts) => {
      if (hosts.some((h) => h.host_id === host.host_id)) throw new DuplicateHostError(host.host_id);
      if (hosts.length >= MAX_HOSTS) throw new TooManyHostsError(MAX_HOSTS);
      const next = [...hosts, host];
      checkJumpChain(next, host.host_id);
      return { hosts: next, result: { ...host } };
    });
  }

  /**
   * Change the given fields of a saved host (an empty password, keyPath or hostKey removes it). Changing
   * host, port or username also removes a password (and host or port agentForward) not given again.
   */
  async edit(hostId: string, patch: HostPatch): Promise<HostEdit> {
    const changes = await validatePatch(patch, this.homeDir);
    return this.update((hosts) => {
      const index = indexOf(hosts, hostId);
      const edit = applyChanges(hosts[index]!, changes);
      const next = hosts.map((h, i) => (i === index ? edit.host : h));
      checkJumpChain(next, hostId);
      return { hosts: next, result: { ...edit, host: { ...edit.host } } };
    });
  }

  /** Delete a saved host; returns what was removed. */
  async remove(hostId: string): Promise<HostConfig> {
    return this.update((hosts) => {
      const index = indexOf(hosts, hostId);
      checkNotJumpHost(hosts, hostId);
      return { hosts: hosts.filter((_, i) => i !== index), result: { ...hosts[index]! } };
    });
  }

  /** Apply `change` to the current file contents under both locks; a throwing change writes nothing. */
  private update<T>(change: (hosts: readonly HostConfig[]) => { hosts: HostConfig[]; result: T }): Promise<T> {
    return this.writes.run(() => this.updateNow(change));
  }

  private async updateNow<T>(change: (hosts: readonly HostConfig[]) => { hosts: HostConfig[]; result: T }): Promise<T> {
    await this.ensureDir();
    return withFileLock(this.file, { timeoutMs: this.lockTimeoutMs, staleMs: STALE_LOCK_MS }, async () => {
      // Re-read under the lock: another process may have written since any earlier read.
      const { hosts: current, loose } = await this.readFile();
      const { hosts, result } = change(current);
      const text = this.format(hosts);
      try {
        // A new file with our mode replaces the old one (never a chmod of whatever the path points to).
        await writeFileAtomic(this.file, text, FILE_MODE);
      } catch (error) {
        throw new HostStoreIoError(this.file, "write", error);
      }
      this.last = { text, hosts, formatted: true };
      if (loose) this.warnOnce(`Tightened permissions of ${this.file} to 0600 (it may hold passwords)`);
      return result;
    });
  }

  /** The text of `hosts`; when they are the last hosts written plus one, that text with one host appended. */
  private format(hosts: readonly HostConfig[]): string {
    const last = this.last;
    const appended =
      last?.formatted === true && hosts.length === last.hosts.length + 1 && last.hosts.every((host, i) => hosts[i] === host);
    return appended ? appendToHostsFile(last.text, hosts[hosts.length - 1]!) : formatHostsFile(hosts);
  }

  /** Read without the lock (writers replace the file by rename, so a reader sees the old or the new file, never half) and without changing anything. */
  private async read(): Promise<readonly HostConfig[]> {
    const dir = await this.checked(this.dir, () => checkPrivateDir(this.dir), "check permissions of");
    if (dir === null) return [];
    this.warnIfReadable(dir);
    const { hosts, loose } = await this.readFile();
    if (loose) {
      const fix = `chmod 600 ${quoteForShell(this.file)}`;
      this.warnOnce(`${this.file} can be read by other users (mode ${formatMode(loose.mode)}) and may hold passwords. Fix it with: ${fix}`);
    }
    return hosts;
  }

  /** The saved hosts, and the file's check when others may read it; refuses a file others could have written. */
  private async readFile(): Promise<{ hosts: readonly HostConfig[]; loose?: PathCheck }> {
    const opened = await this.checked(this.file, () => openPrivateFile(this.file, constants.O_RDONLY, { fixMode: "600" }));
    if (opened === null) return { hosts: [] };
    let text: string;
    try {
      text = await opened.handle.readFile("utf8");
    } catch (error) {
      throw new HostStoreIoError(this.file, "read", error);
    } finally {
      await opened.handle.close();
    }
    const loose = opened.check.readableByOthers ? { loose: opened.check } : {};
    // The whole text is compared, not a size or mtime: another process may have written since.
    if (this.last?.text === text) return { hosts: this.last.hosts, ...loose };
    const hosts = parseHostsFile(text, this.file);
    this.last = { text, hosts, formatted: false };
    return { hosts, ...loose };
  }

  private async ensureDir(): Promise<void> {
    const { check, tightened } = await this.checked(this.dir, () => ensurePrivateDir(this.dir), "create directory");
    if (tightened) this.warnOnce(`Tightened permissions of ${this.dir} to 0700 (it may hold passwords)`);
    else this.warnIfReadable(check);
  }

  /** A directory others may read but that we do not tighten on a read, nor through a symbolic link. */
  private warnIfReadable(dir: PathCheck): void {
    if (!dir.readableByOthers) return;
    const fix = `chmod 700 ${quoteForShell(dir.linkTarget ?? this.dir)}`;
    this.warnOnce(`${this.dir} can be read by other users (mode ${formatMode(dir.mode)}). Fix it with: ${fix}`);
  }

  /** Run a permission check on `path`, letting UnsafePathError through and wrapping any other failure. */
  private async checked<R>(path: string, check: () => Promise<R>, action = "read"): Promise<R> {
    try {
      return await check();
    } catch (error) {
      if (error instanceof UnsafePathError) throw error;
      throw new HostStoreIoError(path, action, error);
    }
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.warn(message);
  }
}

function indexOf(hosts: readonly HostConfig[], hostId: string): number {
  const index = hosts.findIndex((h) => h.host_id === hostId);
  if (index === -1) throw new HostNotFoundError(hostId, hosts.map((h) => h.host_id));
  return index;
}
