import type { HostConfig } from "./host-config.js";

/** Where a host_id was found. */
export type HostSource = "hosts.json" | "ssh-config";

/** OpenSSH's StrictHostKeyChecking values (the ssh layer's policy type); `ask` asks the person at the client. */
export type HostKeyPolicy = "accept-new" | "yes" | "no" | "ask";

/**
 * Everything needed to reach one host, whichever file described it: a saved host (hosts.json) or
 * an alias of ~/.ssh/config resolved as ssh -G does. Per-host settings left out fall back to the
 * server's (SSH_MCP_*).
 */
export interface ResolvedHost extends Omit<HostConfig, "proxyJump" | "keyPath"> {
  source: HostSource;
  /** A saved host's keyPath: it must be usable, or connecting fails saying why. */
  keyPath?: string;
  /** ssh config IdentityFiles, expanded: the first that exists is used; with none, the agent. */
  identityFiles?: string[];
  /** IdentitiesOnly: offer only the identity file, not every key in the agent. */
  identitiesOnly?: boolean;
  /** The host to connect through (ProxyJump), already resolved, with its own hops before it. */
  via?: ResolvedHost;
  connectTimeoutMs?: number;
  /** 0 turns keepalives off (ServerAliveInterval 0). */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Read-only known_hosts files in place of ~/.ssh/known_hosts (UserKnownHostsFile). */
  knownHostsFiles?: string[];
  strictHostKeys?: HostKeyPolicy;
}

/** A saved host as a ResolvedHost, its proxyJump already resolved to `via`. */
export function fromSavedHost(saved: HostConfig, via?: ResolvedHost): ResolvedHost {
  const { proxyJump: _jump, ...rest } = saved;
  return { ...rest, source: "hosts.json", ...(via && { via }) };
}
