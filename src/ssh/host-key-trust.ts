import { constants } from "node:fs";
import { dirname } from "node:path";
import { withFileLock } from "../hosts/file-lock.js";
import { UnsafePathError } from "../hosts/host-errors.js";
import { checkPrivateDir, ensurePrivateDir, openPrivateFile } from "../hosts/private-path.js";
import { SerialQueue } from "../serial-queue.js";
import { fingerprintSha256, keyTypeOf, normalizeFingerprint } from "./host-key.js";
import {
  HostKeyMismatchError,
  HostKeyPinMismatchError,
  KnownHostsFileError,
  RevokedHostKeyError,
  UnknownHostKeyError,
} from "./host-key-errors.js";
import {
  checkLiteralHost,
  entryMatches,
  formatKnownHostLine,
  knownHostName,
  parseKnownHosts,
  type KnownHostEntry,
} from "./known-hosts.js";

/** OpenSSH's StrictHostKeyChecking values; `ask` asks a person about each new host (see NewKeyConfirmer). */
export type StrictHostKeyChecking = "accept-new" | "yes" | "no" | "ask";

/** A host key offered by a host no known_hosts file mentions. */
export interface NewHostKey {
  host: string;
  port: number;
  keyType: string;
  fingerprint: string;
}

/** How long a person has to answer about a new host key (the SSH handshake waits meanwhile). */
export const ASK_TIMEOUT_MS = 90_000;

/** Asks a person whether to trust a new host's key: true to trust it; undefined when nobody can be asked. */
export type NewKeyConfirmer = (key: NewHostKey) => Promise<boolean | undefined>;

/** Where known keys live and how strictly to treat unknown hosts. */
export interface HostKeyTrustOptions {
  /** Our own known_hosts (e.g. ~/.ssh-mcp/known_hosts): read and appended to; created 0600 if missing. Never a symbolic link. */
  knownHostsFile: string;
  /** Other known_hosts files (e.g. ~/.ssh/known_hosts): read only, never written; missing or unreadable files are skipped. */
  userKnownHostsFiles: string[];
  policy: StrictHostKeyChecking;
  /** stderr logger. */
  warn?: (message: string) => void;
  /** How long recording a new host waits for another process's lock on knownHostsFile; default 10 s. */
  lockTimeoutMs?: number;
  /** Under policy `ask`: who to ask (set later with askWith when it only exists later, like an MCP client). */
  confirmNewKey?: NewKeyConfirmer;
}

// An append holds the lock for milliseconds; a lock this old was left by a process that crashed.
const STALE_LOCK_MS = 30_000;

/** Outcome of an accepted verification. */
export type HostKeyVerdict = { accepted: true; /** true if this call appended a new entry */ recorded: boolean };

/** Decides whether to trust a server's host key, with OpenSSH's known_hosts semantics. */
export class HostKeyTrust {
  private readonly options: HostKeyTrustOptions;
  /** Serialises our own appends; the file lock alone would make them spin against each other. Shared with forHost() views. */
  private readonly appends: SerialQueue;

  constructor(options: HostKeyTrustOptions, appends = new SerialQueue()) {
    this.options = { ...options };
    this.appends = appends;
  }

  /** True under policy `ask`: a handshake may wait for a person (up to ASK_TIMEOUT_MS). */
  get asks(): boolean {
    return this.options.policy === "ask";
  }

  /** Under policy `ask`, ask `confirm` about new hosts from now on. */
  askWith(confirm: NewKeyConfirmer): void {
    this.options.confirmNewKey = confirm;
  }

  /**
   * The same trust with one host's own settings (from ~/.ssh/config): its UserKnownHostsFile files
   * read in place of the user's, and its StrictHostKeyChecking. New keys still go to our own file.
   */
  forHost(settings: { userKnownHostsFiles?: string[]; policy?: StrictHostKeyChecking }): HostKeyTrust {
    if (settings.userKnownHostsFiles === undefined && settings.policy === undefined) return this;
    return new HostKeyTrust(
      {
        ...this.options,
        ...(settings.userKnownHostsFiles !== undefined && { userKnownHostsFiles: settings.userKnownHostsFiles }),
        ...(settings.policy !== undefined && { policy: settings.policy }),
      },
      this.appends,
    );
  }

  /** Key types recorded for host:port in any known_hosts file (our file first), de-duplicated; ignores pins and @revoked/@cert-authority lines. */
  async recordedKeyTypes(host: string, port: number): Promise<string[]> {
    const { entries } = await this.readAll();
    const types = entries.filter((e) => !e.marker && entryMatches(e, host, port)).map((e) => e.keyType);
    return [...new Set(types)];
  }

  /** Accept keyBlob offered by host:port (appending it under accept-new when the host is unknown), or reject with a typed error. */
  async verify(host: string, port: number, keyBlob: Buffer, pin?: string): Promise<HostKeyVerdict> {
    // A pattern as the host would match other hosts' lines on lookup and be written as a pattern on record.
    checkLiteralHost(host, port);
    const offered = { host, port, keyType: keyTypeOf(keyBlob), fingerprint: fingerprintSha256(keyBlob) };
    const { entries } = await this.readAll();
    // @revoked always wins, as in OpenSSH: neither a pin nor policy "no" may accept a key its owner disowned.
    this.throwIfRevoked(entries, host, port, keyBlob);

    if (pin !== undefined) {
      // A pin is the user's explicit word on this host's key, so the other known_hosts lines are not consulted.
      const expected = normalizeFingerprint(pin);
      if (expected !== offered.fingerprint) {
        throw new HostKeyPinMismatchError({ ...offered, expected: expected ?? pin.trim() });
      }
      return { accepted: true, recorded: false };
    }
    if (this.options.policy === "no") return { accepted: true, recorded: false };

    if (this.isKnown(entries, host, port, keyBlob)) return { accepted: true, recorded: false };
    if (this.options.policy === "yes") throw new UnknownHostKeyError(offered, "yes");
    if (this.options.policy === "ask") {
      // As OpenSSH's `ask`: only a person's yes trusts a new key; no one to ask is a no.
      const answer = await this.options.confirmNewKey?.(offered);
      if (answer !== true) throw new UnknownHostKeyError(offered, answer === false ? "declined" : "nobody-to-ask");
    }
    return this.appends.run(() => this.recordNew(host, port, keyBlob));
  }

  /**
   * Append a first-seen key, re-checking under the queue and the file lock in case another call, or another
   * ssh-mcp process sharing the file, recorded this host meanwhile: otherwise both keys would be recorded and trusted.
   */
  private async recordNew(host: string, port: number, keyBlob: Buffer): Promise<HostKeyVerdict> {
    const file = this.options.knownHostsFile;
    try {
      // The lock lives beside the file, so the directory must exist before it can be taken.
      const { tightened } = await ensurePrivateDir(dirname(file));
      if (tightened) this.options.warn?.(`Tightened permissions of ${dirname(file)} to 0700`);
    } catch (error) {
      if (error instanceof UnsafePathError) throw error;
      throw new KnownHostsFileError(file, "append to", error);
    }
    const lock = { timeoutMs: this.options.lockTimeoutMs ?? 10_000, staleMs: STALE_LOCK_MS };
    return withFileLock(file, lock, () => this.appendUnlessKnown(host, port, keyBlob));
  }

  /** Under the lock: read the files again and append the key unless the host is known by now. */
  private async appendUnlessKnown(host: string, port: number, keyBlob: Buffer): Promise<HostKeyVerdict> {
    const { entries, ownText } = await this.readAll();
    if (this.isKnown(entries, host, port, keyBlob)) return { accepted: true, recorded: false };

    const file = this.options.knownHostsFile;
    const separator = ownText.length > 0 && !ownText.endsWith("\n") ? "\n" : "";
    const line = formatKnownHostLine(host, port, keyBlob);
    try {
      // O_NOFOLLOW (in openPrivateFile): appending through a symbolic link would vouch for keys in a file we never checked.
      const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
      const opened = (await openPrivateFile(file, flags, { fixMode: "go-w", createMode: 0o600 }))!;
      try {
        await opened.handle.appendFile(`${separator}${line}\n`);
      } finally {
        await opened.handle.close();
      }
    } catch (error) {
      if (error instanceof UnsafePathError) throw error;
      throw new KnownHostsFileError(file, "append to", error);
    }
    this.options.warn?.(
      `Permanently added '${knownHostName(host, port)}' (${keyTypeOf(keyBlob)}) to the list of known hosts (${file}).`,
    );
    return { accepted: true, recorded: true };
  }

  /** Apply OpenSSH's rules to the parsed entries: true if recorded, false if the host is unknown; throws for revoked or changed keys. */
  private isKnown(entries: KnownHostEntry[], host: string, port: number, keyBlob: Buffer): boolean {
    this.throwIfRevoked(entries, host, port, keyBlob);
    const offered = { host, port, keyType: keyTypeOf(keyBlob), fingerprint: fingerprintSha256(keyBlob) };
    const matching = entries.filter((e) => entryMatches(e, host, port));

    // Certificates are not supported, so @cert-authority lines neither vouch for nor contradict a key.
    const plain = matching.filter((e) => !e.marker);
    if (plain.length === 0) return false;
    const sameType = plain.filter((e) => e.keyType === offered.keyType);
    if (sameType.some((e) => e.key.equals(keyBlob))) return true;

    // Any other key on record for this host is a change; a different type too, since the
    // connection layer asks for the recorded types first and the server did not offer them.
    const cited = sameType[0] ?? plain[0]!;
    throw new HostKeyMismatchError({ ...offered, file: cited.file, line: cited.line, recordedKeyType: cited.keyType });
  }

  /** RevokedHostKeyError when a line for host:port marks exactly this key @revoked. */
  private throwIfRevoked(entries: KnownHostEntry[], host: string, port: number, keyBlob: Buffer): void {
    const revoked = entries.find((e) => e.marker === "@revoked" && e.key.equals(keyBlob) && entryMatches(e, host, port));
    if (revoked) {
      const offered = { host, port, keyType: keyTypeOf(keyBlob), fingerprint: fingerprintSha256(keyBlob) };
      throw new RevokedHostKeyError({ ...offered, file: revoked.file, line: revoked.line });
    }
  }

  /** Read our file and the user's files afresh (they may change between calls); missing files are empty. */
  private async readAll(): Promise<{ entries: KnownHostEntry[]; ownText: string }> {
    const own = this.options.knownHostsFile;
    let ownText: string;
    try {
      // Like StrictModes: a file or directory others could have written may vouch for their keys.
      ownText = (await checkPrivateDir(dirname(own))) === null ? "" : await readChecked(own, false);
    } catch (error) {
      // Fail closed: without our own file we cannot tell a changed key from a new one.
      if (error instanceof UnsafePathError) throw error;
      throw new KnownHostsFileError(own, "read", error);
    }
    const entries = parseKnownHosts(ownText, own);
    const others = [...new Set(this.options.userKnownHostsFiles)].filter((f) => f !== own);
    for (const file of others) {
      let text: string;
      try {
        // ssh's own file: followed if it is a link (it is only read), but refused, not skipped, when others can
        // write it, since skipping would also drop the revocations and recorded keys it holds.
        text = await readChecked(file, true);
      } catch (error) {
        if (error instanceof UnsafePathError) throw error;
        // OpenSSH skips an unreadable UserKnownHostsFile too; say so rather than fail every connection.
        this.options.warn?.(`Ignoring known hosts file ${file}: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      entries.push(...parseKnownHosts(text, file));
    }
    return { entries, ownText };
  }
}

/** The text of a known_hosts file that passes the ownership and mode checks; "" when it does not exist. */
async function readChecked(file: string, followLink: boolean): Promise<string> {
  const opened = await openPrivateFile(file, constants.O_RDONLY, { fixMode: "go-w", followLink });
  if (opened === null) return "";
  try {
    return await opened.handle.readFile("utf8");
  } finally {
    await opened.handle.close();
  }
}
