export const SSHD_PATH: string | undefined;
/** OpenSSH's sftp-server, which startSshd serves as the sftp subsystem unless told not to. */
export const SFTP_SERVER_PATH: string | undefined;

export function keygen(path: string, type?: string, passphrase?: string, comment?: string): void;

/** A TCP port on loopback that was free a moment ago. */
export function freePort(): Promise<number>;

export interface TestSshd {
  host: "127.0.0.1";
  port: number;
  dir: string;
  /** The user tests log in as (whoever runs the tests). */
  user: string;
  /** Unencrypted ed25519 client key, authorised for every user. */
  keyPath: string;
  /** Encrypted ed25519 client key and its passphrase. */
  encryptedKeyPath: string;
  passphrase: string;
  hostKeyPath: string;
  /** Everything sshd logged so far. */
  log(): string;
  pid(): number;
  /** Stop sshd (SIGTERM) and wait for it. */
  stop(): Promise<void>;
  /** Start again on the same port, optionally with a brand-new host key. */
  restart(options?: { newHostKey?: boolean }): Promise<void>;
  /** Stop it and remove its temp dir. */
  cleanup(): Promise<void>;
}

export function startSshd(options?: { extraConfig?: string[]; allowTcpForwarding?: boolean; bench?: boolean; sftp?: boolean }): Promise<TestSshd>;

export interface TestDropbear {
  host: "127.0.0.1";
  port: number;
  log(): string;
  cleanup(): Promise<void>;
}

/** `sftp: false` hides sftp-server from this Dropbear (root and unshare needed). */
export function startDropbear(options?: { sftp?: boolean }): Promise<TestDropbear>;
