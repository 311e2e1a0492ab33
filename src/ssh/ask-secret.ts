import { SshMcpError } from "../errors.js";
import type { HostConfig } from "../hosts/host-config.js";
import { AuthenticationError, CredentialsError } from "./connect-errors.js";

/** A secret a connection needs and a person could type: the host's password or its key's passphrase. */
export interface SecretRequest {
  secret: "password" | "passphrase";
  hostId: string;
  /** user@host:port */
  target: string;
  keyPath?: string;
}

/** What the person gave. */
export interface SecretAnswer {
  secret: string;
  /** Called once the secret worked, so it can be stored if the person asked for that. */
  worked(): Promise<void>;
}

/** Asks a person (never the model) for a secret; rejects with an SshMcpError saying why there is none. */
export type SecretAsker = (request: SecretRequest) => Promise<SecretAnswer>;

/** The secret a person typed did not work either. */
export class SecretRefusedError extends SshMcpError {}

/** Which secret a person could give to get past `error` on `host` itself (not a jump host), if any. */
export function secretToAsk(host: HostConfig, error: unknown): SecretRequest["secret"] | undefined {
  if (error instanceof CredentialsError && error.missing?.hostId === host.host_id) return error.missing.secret;
  if (error instanceof AuthenticationError && error.refusedBy?.hostId === host.host_id && !error.refusedBy.triedPassword) {
    return "password";
  }
  return undefined;
}

/** The error when the typed secret failed too: what happened, and that nothing was stored. */
export function refused(request: SecretRequest, error: unknown): SshMcpError {
  if (!(error instanceof AuthenticationError || error instanceof CredentialsError)) {
    return error instanceof SshMcpError ? error : new SshMcpError(String(error));
  }
  const what = request.secret === "password" ? `The password typed for ${request.target}` : `The passphrase typed for key ${request.keyPath}`;
  return new SecretRefusedError(
    `${what} did not work (${error.message}) Nothing was stored. Run start-session again to type it again, ` +
      `or store it yourself: edit-host with ${request.secret === "password" ? "password" : "a key in ssh-agent"}.`,
    { cause: error },
  );
}
