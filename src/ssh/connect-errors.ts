import { SshMcpError } from "../errors.js";

/** Could not reach or talk to the SSH server. */
export class ConnectionError extends SshMcpError {}

/** The server refused every credential we offered. */
export class AuthenticationError extends SshMcpError {}

/** The host's credentials cannot be used as configured (missing key file, locked key, no agent). */
export class CredentialsError extends SshMcpError {}
