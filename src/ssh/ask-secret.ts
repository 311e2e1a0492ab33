import type { Client } from "ssh2";
import { SshMcpError } from "../errors.js";
import type { HostConfig } from "../hosts/host-config.js";
import type { ResolvedHost } from "../hosts/resolved-host.js";
import type { ConnectOptions } from "./connect.js";
import { AuthenticationError, CredentialsError } from "./connect-errors.js";
import { connectWithJumps } from "./proxy-jump.js";

/** A secret a person could type: the host's login password, its key's passphrase, or the password sudo asks for. */
export interface SecretRequest {
  secret: "password" | "passphrase" | "sudo-password";
  hostId: string;
  /** user@host:port */
  target: string;
  keyPath?: string;
  /** Whether the host can keep it (a saved host's password or sudo password; never a passphrase). */
  canRemember: boolean;
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
export function secretToAsk(host: Pick<HostConfig, "host_id">, error: unknown): "password" | "passphrase" | undefined {
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
  const what =
    request.secret === "passphrase" ? `The passphrase typed for key ${request.keyPath}` : `The password typed for ${request.target}`;
  return new SecretRefusedError(
    `${what} did not work (${error.message}) Nothing was stored. Run start-session again to type it again, ` +
      `or store it yourself: edit-host with ${request.secret === "password" ? "password" : "a key in ssh-agent"}.`,
    { cause: error },
  );
}

/** Connect; if a secret a person could type is missing or refused, ask once (when `ask` is given) and try again with it. */
export async function connectAsking(host: ResolvedHost, options: ConnectOptions, ask?: SecretAsker): Promise<Client> {
  try {
    return await connectWithJumps(host, options);
  } catch (error) {
    const secret = ask && secretToAsk(host, error);
    if (!secret) throw error;
    const request: SecretRequest = {
      secret,
      hostId: host.host_id,
      target: `${host.username}@${host.host}:${host.port}`,
      keyPath: host.keyPath ?? host.identityFiles?.[0],
      // Only a saved host can keep a password; ~/.ssh/config is the user's, and passphrases are never kept.
      canRemember: secret === "password" && host.source === "hosts.json",
    };
    const answer = await ask(request);
    const client = await connectWithJumps(
      secret === "password" ? { ...host, password: answer.secret } : host,
      secret === "passphrase" ? { ...options, keyPassphrase: answer.secret } : options,
    ).catch((retryError: unknown) => {
      throw refused(request, retryError);
    });
    await answer.worked();
    return client;
  }
}
