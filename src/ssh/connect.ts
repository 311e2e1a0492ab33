import { homedir } from "node:os";
import type { Duplex } from "node:stream";
import ssh2, { type ConnectConfig } from "ssh2";
import type { ResolvedHost } from "../hosts/resolved-host.js";
import { KeyFileError, keyFilePath, readPrivateKeyFile } from "../hosts/key-file.js";
import { SshMcpError } from "../errors.js";
import { ASK_TIMEOUT_MS, type HostKeyTrust } from "./host-key-trust.js";
import { AuthenticationError, ConnectionError, CredentialsError } from "./connect-errors.js";

// ssh2 is CommonJS; Node only guarantees its default export to ESM importers.
const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;

/** What every connection shares: trust store, limits and the process's credentials. */
export interface ConnectOptions {
  trust: HostKeyTrust;
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  /** Unlocks encrypted private keys (SSH_MCP_KEY_PASSPHRASE). */
  keyPassphrase?: string;
  /** The ssh-agent socket (SSH_AUTH_SOCK). */
  agentSocket?: string;
  homeDir?: string;
}

// ssh2's default order; a host's recorded key types are moved to the front, as OpenSSH does.
const HOST_KEY_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];
const ALGORITHMS_OF_KEY_TYPE: Record<string, string[]> = { "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] };

/** Open an authenticated SSH connection to a host, verifying its host key first; over `sock` when given (a jump host's tunnel). */
export async function connect(host: ResolvedHost, options: ConnectOptions, sock?: Duplex): Promise<Client> {
  const auth = await authConfig(host, options);
  const trust = options.trust.forHost({
    ...(host.knownHostsFiles !== undefined && { userKnownHostsFiles: host.knownHostsFiles }),
    ...(host.strictHostKeys !== undefined && { policy: host.strictHostKeys }),
  });
  const preferred = (await trust.recordedKeyTypes(host.host, host.port)).flatMap(
    (type) => ALGORITHMS_OF_KEY_TYPE[type] ?? [type],
  );
  const serverHostKey = [...new Set([...preferred, ...HOST_KEY_ALGORITHMS])].filter((a) =>
    HOST_KEY_ALGORITHMS.includes(a),
  );

  let hostKeyError: unknown;
  const config: ConnectConfig = {
    host: host.host,
    port: host.port,
    username: host.username,
    // Under `ask` the handshake waits while a person looks at a new host's key.
    readyTimeout: (host.connectTimeoutMs ?? options.connectTimeoutMs) + (trust.asks ? ASK_TIMEOUT_MS : 0),
    keepaliveInterval: host.keepaliveIntervalMs ?? options.keepaliveIntervalMs,
    keepaliveCountMax: host.keepaliveCountMax ?? options.keepaliveCountMax,
    algorithms: { serverHostKey: serverHostKey as NonNullable<ConnectConfig["algorithms"]>["serverHostKey"] },
    hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
      trust.verify(host.host, host.port, key, host.hostKey).then(
        () => verify(true),
        (error: unknown) => {
          hostKeyError = error;
          verify(false);
        },
      );
    },
    ...auth,
    ...(sock && { sock }),
  };

  const client = new Client();
  // ssh2 can emit more than one 'error' (and more after 'ready'); an unheard one would crash the
  // process, so one listener stays for the client's whole life and only the first failure counts.
  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(hostKeyError ?? describeFailure(host, auth, error));
    };
    client.on("error", fail);
    client.once("close", () => fail(new Error("connection closed before authentication finished")));
    client.once("ready", () => {
      settled = true;
      resolve(client);
    });
    if (auth.tryKeyboard) {
      // Servers that run passwords through PAM ask for them as keyboard-interactive prompts. The
      // password answers only a lone hidden prompt that asks for one; any other question (a one-time
      // code, a second factor) gets no answer, so the server fails this method instead of learning it.
      client.on("keyboard-interactive", (_name, _instructions, _lang, prompts, finish) => {
        const [only] = prompts;
        const asksPassword = prompts.length === 1 && !only!.echo && /password/i.test(only!.prompt);
        finish(asksPassword && host.password !== undefined ? [host.password] : []);
      });
    }
    client.connect(config);
    // Small packets (window adjusts, short commands) must not wait out Nagle plus delayed ACK (~40 ms).
    client.setNoDelay(true);
  });
}

type AuthConfig = Pick<ConnectConfig, "password" | "privateKey" | "passphrase" | "agent" | "agentForward" | "tryKeyboard">;

async function authConfig(host: ResolvedHost, options: ConnectOptions): Promise<AuthConfig> {
  const auth: AuthConfig = {};
  const homeDir = options.homeDir ?? homedir();
  if (host.keyPath) {
    const key = await readKey(host.keyPath, homeDir, "Fix keyPath with edit-host, or clear it (keyPath \"\") to use ssh-agent.");
    const parsed = utils.parseKey(key, options.keyPassphrase);
    if (parsed instanceof Error) {
      throw keyError(host.host_id, host.keyPath, keyFilePath(host.keyPath, homeDir), parsed, options.keyPassphrase !== undefined);
    }
    auth.privateKey = key;
    if (options.keyPassphrase !== undefined) auth.passphrase = options.keyPassphrase;
  }
  if (host.identityFiles) {
    const key = await identityKey(host, host.identityFiles, options, homeDir);
    if (key) {
      auth.privateKey = key;
      if (options.keyPassphrase !== undefined) auth.passphrase = options.keyPassphrase;
    }
  }
  if (host.password) {
    auth.password = host.password;
    auth.tryKeyboard = true;
  }
  if (host.source === "ssh-config") {
    // As OpenSSH: the agent's keys are offered too unless IdentitiesOnly, and are all there is without a usable key.
    if (options.agentSocket && (!auth.privateKey || !host.identitiesOnly)) auth.agent = options.agentSocket;
    if (!auth.privateKey && !auth.agent) {
      throw new CredentialsError(
        `Host '${host.host_id}' (from ssh config) has no usable IdentityFile (tried ${host.identityFiles?.join(", ") || "none"}), ` +
          `and SSH_AUTH_SOCK is not set for ssh-mcp, so ssh-agent cannot be used either. Add an IdentityFile that exists, or pass SSH_AUTH_SOCK in the server's environment.`,
      );
    }
  } else if (!host.keyPath && !host.password) {
    if (!options.agentSocket) {
      throw new CredentialsError(
        `Host '${host.host_id}' has no password or keyPath, so ssh-agent is used, but SSH_AUTH_SOCK is not set for ssh-mcp. ` +
          `Start ssh-agent and pass SSH_AUTH_SOCK in the server's environment, or give the host a keyPath or password with edit-host.`,
        undefined,
        { hostId: host.host_id, secret: "password" },
      );
    }
    auth.agent = options.agentSocket;
  }
  // Forwarding lets the remote side use our keys, so it is opt-in per host.
  if (host.agentForward) {
    if (!options.agentSocket) {
      throw new CredentialsError(
        `Host '${host.host_id}' asks for agentForward, but SSH_AUTH_SOCK is not set for ssh-mcp. Start ssh-agent and pass SSH_AUTH_SOCK, or turn agentForward off with edit-host.`,
      );
    }
    auth.agent = options.agentSocket;
    auth.agentForward = true;
  }
  return auth;
}

/**
 * The first of an ssh config host's IdentityFiles that exists, unlocked with SSH_MCP_KEY_PASSPHRASE
 * like keyPath. Undefined when none exists, or when it cannot be used and the agent can take over,
 * as OpenSSH falls back to the agent; otherwise the error says why.
 */
async function identityKey(host: ResolvedHost, files: string[], options: ConnectOptions, homeDir: string): Promise<Buffer | undefined> {
  for (const file of files) {
    let key: Buffer;
    try {
      key = await readPrivateKeyFile(file, homeDir);
    } catch (error) {
      if (error instanceof KeyFileError && error.problem === "does not exist") continue;
      if (options.agentSocket) return undefined;
      if (!(error instanceof KeyFileError)) throw error;
      throw new CredentialsError(`${error.message} Fix the IdentityFile of '${host.host_id}' in your ssh config, or use ssh-agent.`, { cause: error });
    }
    const parsed = utils.parseKey(key, options.keyPassphrase);
    if (!(parsed instanceof Error)) return key;
    if (options.agentSocket) return undefined;
    throw keyError(host.host_id, file, file, parsed, options.keyPassphrase !== undefined);
  }
  return undefined;
}

async function readKey(keyPath: string, homeDir: string, hint: string): Promise<Buffer> {
  try {
    return await readPrivateKeyFile(keyPath, homeDir);
  } catch (error) {
    if (!(error instanceof KeyFileError)) throw error;
    throw new CredentialsError(`${error.message} ${hint}`, { cause: error });
  }
}

function keyError(hostId: string, given: string, path: string, error: Error, hadPassphrase: boolean): CredentialsError {
  const where = `Key file ${given}${given === path ? "" : ` (${path})`}`;
  const missing = { hostId, secret: "passphrase" as const };
  if (/encrypted/i.test(error.message) && !hadPassphrase) {
    return new CredentialsError(
      `${where} is encrypted. Set SSH_MCP_KEY_PASSPHRASE in the server's environment to unlock it, or load the key into ssh-agent.`,
      { cause: error },
      missing,
    );
  }
  if (hadPassphrase && /passphrase|decrypt/i.test(error.message)) {
    return new CredentialsError(`${where} could not be unlocked with SSH_MCP_KEY_PASSPHRASE: wrong passphrase?`, { cause: error }, missing);
  }
  return new CredentialsError(`${where} is not a private key ssh-mcp can use (${error.message}).`, { cause: error });
}

/** Turn ssh2's errors (level client-socket / client-timeout / client-authentication) into ours, once. */
function describeFailure(host: ResolvedHost, auth: AuthConfig, error: unknown): SshMcpError {
  const err = error as Error & { level?: string; code?: string };
  const target = `${host.username}@${host.host}:${host.port}`;
  if (err.level === "client-authentication") {
    const tried = [auth.privateKey && "key", auth.password && "password", auth.agent && "agent"].filter(Boolean).join(", ");
    return new AuthenticationError(
      `Authentication failed for ${target} (tried: ${tried}). ` +
        (host.source === "ssh-config"
          ? `Check User and IdentityFile for '${host.host_id}' in your ssh config, and the keys in ssh-agent.`
          : "Check the username and credentials with edit-host."),
      { cause: err },
      { hostId: host.host_id, triedPassword: auth.password !== undefined },
    );
  }
  if (err.level === "client-timeout") {
    return new ConnectionError(
      `Timed out connecting to ${host.host}:${host.port} (no SSH handshake). Check that the host is reachable and runs sshd on that port.`,
      { cause: err },
    );
  }
  switch (err.code) {
    case "ECONNREFUSED":
      return new ConnectionError(`Connection refused by ${host.host}:${host.port}. Is sshd running there, and is the port right?`, { cause: err });
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new ConnectionError(`Host name '${host.host}' could not be resolved. Check the host with edit-host.`, { cause: err });
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new ConnectionError(`${host.host}:${host.port} is unreachable from here (${err.code}).`, { cause: err });
  }
  return new ConnectionError(`Could not connect to ${target}: ${err.message}.`, { cause: err });
}
