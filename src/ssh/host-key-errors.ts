import { SshMcpError, quoteForShell } from "../errors.js";
import { knownHostName } from "./known-host-name.js";

/** Where a host key came from and what it was. */
interface OfferedKey {
  host: string;
  port: number;
  /** Key type the server offered, e.g. "ssh-ed25519". */
  keyType: string;
  /** SHA256 fingerprint of the offered key. */
  fingerprint: string;
}

/** A host key we refused; carries what the server offered. */
export abstract class HostKeyError extends SshMcpError {
  readonly host: string;
  readonly port: number;
  readonly keyType: string;
  readonly fingerprint: string;

  constructor(offered: OfferedKey, message: string) {
    super(message);
    this.host = offered.host;
    this.port = offered.port;
    this.keyType = offered.keyType;
    this.fingerprint = offered.fingerprint;
  }
}

/** The server offered a key that differs from the one recorded in a known_hosts file. */
export class HostKeyMismatchError extends HostKeyError {
  readonly file: string;
  readonly line: number;
  /** Type of the recorded key; differs from `keyType` when the server did not offer the recorded type. */
  readonly recordedKeyType: string;

  constructor(details: OfferedKey & { file: string; line: number; recordedKeyType: string }) {
    const { host, port, keyType, fingerprint, file, line, recordedKeyType } = details;
    const name = knownHostName(host, port);
    const what =
      recordedKeyType === keyType
        ? `the server offered ${keyType} ${fingerprint}, but ${file}:${line} records a different key`
        : `the server offered ${keyType} ${fingerprint} but ${file}:${line} records a ${recordedKeyType} key, and the server did not offer that type`;
    super(
      details,
      `Host key for ${name} has changed: ${what}. ` +
        `This could be an attack (man-in-the-middle) or the host was reinstalled. ` +
        `If you trust the new key, remove line ${line} from ${file} (ssh-keygen -R ${quoteForShell(name)} -f ${quoteForShell(file)}) ` +
        `or pin it with edit-host hostKey="${fingerprint}".`,
    );
    this.file = file;
    this.line = line;
    this.recordedKeyType = recordedKeyType;
  }
}

/** Why an unknown host was refused: strict checking, the person said no, or nobody could be asked. */
export type UnknownHostRefusal = "yes" | "declined" | "nobody-to-ask";

const REFUSED_BECAUSE: Record<UnknownHostRefusal, string> = {
  yes: "SSH_MCP_STRICT_HOST_KEYS=yes refuses unknown hosts",
  declined: "you declined to trust its key",
  "nobody-to-ask":
    "SSH_MCP_STRICT_HOST_KEYS=ask needs a person to confirm a new key, and this MCP client cannot ask (it does not support form elicitation)",
};

/** Strict checking ("yes", or "ask" without a yes) met a host that no known_hosts file mentions. */
export class UnknownHostKeyError extends HostKeyError {
  constructor(
    details: OfferedKey,
    readonly refusal: UnknownHostRefusal = "yes",
  ) {
    const { host, port, keyType, fingerprint } = details;
    super(
      details,
      `Host ${knownHostName(host, port)} is not known and ${REFUSED_BECAUSE[refusal]}. ` +
        `It offered ${keyType} ${fingerprint}. ` +
        `If that is the right key, pin it with edit-host hostKey="${fingerprint}" or add it to ~/.ssh-mcp/known_hosts ` +
        `(or run with SSH_MCP_STRICT_HOST_KEYS=accept-new).`,
    );
  }
}

/** The server's key does not match the fingerprint pinned for the host. */
export class HostKeyPinMismatchError extends HostKeyError {
  /** The pin as configured (normalised when it was a valid fingerprint). */
  readonly expected: string;

  constructor(details: OfferedKey & { expected: string }) {
    const { host, port, keyType, fingerprint, expected } = details;
    super(
      details,
      `Host key for ${knownHostName(host, port)} does not match its pin: expected ${expected}, ` +
        `the server offered ${keyType} ${fingerprint}. ` +
        `If the host's key really changed (check it out of band), update the pin with edit-host hostKey="${fingerprint}".`,
    );
    this.expected = expected;
  }
}

/** The server offered a key that a known_hosts file marks @revoked. */
export class RevokedHostKeyError extends HostKeyError {
  readonly file: string;
  readonly line: number;

  constructor(details: OfferedKey & { file: string; line: number }) {
    const { host, port, keyType, fingerprint, file, line } = details;
    super(
      details,
      `Host key for ${knownHostName(host, port)} is revoked: the server offered ${keyType} ${fingerprint}, ` +
        `which ${file}:${line} marks @revoked. Do not connect to this host until its owner installs a new key; ` +
        `a revoked key may be in an attacker's hands.`,
    );
    this.file = file;
    this.line = line;
  }
}

/** A host that is not one literal name (a pattern, list, negation, hashed name or marker): its key is never checked or recorded. */
export class UnsafeHostNameError extends SshMcpError {
  readonly host: string;
  readonly port: number;

  constructor(host: string, port: number, problem: string) {
    super(
      `Refusing to check or record a host key for host ${JSON.stringify(host)} (port ${port}): it ${problem}. ` +
        `known_hosts only ever gets literal host names, so that a line can never vouch for other hosts. Correct the host with edit-host.`,
    );
    this.host = host;
    this.port = port;
  }
}

/** Our own known_hosts file could not be read or appended to. */
export class KnownHostsFileError extends SshMcpError {
  readonly file: string;

  constructor(file: string, action: "read" | "append to", cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Cannot ${action} known hosts file ${file}: ${reason}. Check its permissions.`, { cause });
    this.file = file;
  }
}
