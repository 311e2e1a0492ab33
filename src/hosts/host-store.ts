import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { SerialQueue } from "../serial-queue.js";
import { writeFileAtomic } from "./atomic-write.js";
import { withFileLock } from "./file-lock.js";
import type { HostConfig, HostInput, HostPatch } from "./host-config.js";
import { DuplicateHostError, HostNotFoundError, HostStoreIoError, TooManyHostsError } from "./host-errors.js";
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
import { ensurePrivateDir, tightenMode } from "./private-dir.js";

export type { HostConfig, HostInput, HostPatch } from "./host-config.js";
export type { HostEdit, TargetField } from "./host-validation.js";
export { expandHome } from "./expand-home.js";

/** Where the store lives and how it reports and waits. */
export interface HostStoreOptions {
  /** Directory holding hosts.json, e.g. path.join(os.homedir(), ".ssh-mcp"). */
  dir: string;
  /** stderr logger for permission fixes; never given secrets. */
  warn?: (message: string) => void;
  /** For "~" expansion when checking keyPath; default os.homedir(). */
  homeDir?: string;
  /** How long a write waits for another process's lock; default 10 s. */
  lockTimeoutMs?: number;
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
// A write holds the lock for milliseconds; a lock this old was left by a writer that crashed.
const STALE_LOCK_MS = 30_000;

/** Saved hosts in `<dir>/hosts.json`: validated, written atomically, serialised within and across processes. */
export class HostStore {
  readonly file: string;
  private readonly dir: string;
  private readonly warn: (message: string) => void;
  private readonly homeDir: string;
  private readonly lockTimeoutMs: number;
  /** Paths already warned about, so a loosened file does not repeat the warning on every call. */
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
      const { hosts, result } = change(await this.readFile());
      const text = this.format(hosts);
      try {
        await writeFileAtomic(this.file, text, FILE_MODE);
      } catch (error) {
        throw new HostStoreIoError(this.file, "write", error);
      }
      this.last = { text, hosts, formatted: true };
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

  /** Read without the lock: writers replace the file by rename, so a reader sees the old or the new file, never half. */
  private async read(): Promise<readonly HostConfig[]> {
    try {
      await this.tighten(this.dir, DIR_MODE);
    } catch (error) {
      throw new HostStoreIoError(this.dir, "check permissions of", error);
    }
    return this.readFile();
  }

  private async readFile(): Promise<readonly HostConfig[]> {
    let text: string;
    try {
      await this.tighten(this.file, FILE_MODE);
      text = await readFile(this.file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new HostStoreIoError(this.file, "read", error);
    }
    // The whole text is compared, not a size or mtime: another process may have written since.
    if (this.last?.text === text) return this.last.hosts;
    const hosts = parseHostsFile(text, this.file);
    this.last = { text, hosts, formatted: false };
    return hosts;
  }

  private async ensureDir(): Promise<void> {
    try {
      if (await ensurePrivateDir(this.dir)) this.warnOnce(this.dir, DIR_MODE);
    } catch (error) {
      throw new HostStoreIoError(this.dir, "create directory", error);
    }
  }

  private async tighten(path: string, mode: number): Promise<void> {
    if (await tightenMode(path, mode)) this.warnOnce(path, mode);
  }

  private warnOnce(path: string, mode: number): void {
    if (this.warned.has(path)) return;
    this.warned.add(path);
    this.warn(`Tightened permissions of ${path} to 0${mode.toString(8)} (it may hold passwords)`);
  }
}

function indexOf(hosts: readonly HostConfig[], hostId: string): number {
  const index = hosts.findIndex((h) => h.host_id === hostId);
  if (index === -1) throw new HostNotFoundError(hostId, hosts.map((h) => h.host_id));
  return index;
}
