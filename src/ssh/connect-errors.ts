import { SshMcpError } from "../errors.js";

/** Could not reach or talk to the SSH server. */
export class ConnectionError extends SshMcpError {}

/** The server refused every credential we offered. */
export class AuthenticationError extends SshMcpError {
  constructor(
    message: string,
    options?: { cause?: unknown },
    /** The saved host that refused us, and whether a password was among what we offered. */
    readonly refusedBy?: { hostId: string; triedPassword: boolean },
  ) {
    super(message, options);
  }
}

/** The host's credentials cannot be used as configured (missing key file, locked key, no agent). */
export class CredentialsError extends SshMcpError {
  constructor(
    message: string,
    options?: { cause?: unknown },
    /** What a person could type to get past this: a key's passphrase, or the host's password. */
    readonly missing?: { hostId: string; secret: "passphrase" | "password" },
  ) {
    super(message, options);
  }
}
