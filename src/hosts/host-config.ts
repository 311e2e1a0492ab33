/** One saved host, as stored in hosts.json; field names match the MCP tool arguments. */
export interface HostConfig {
  host_id: string;
  host: string;
  port: number;
  username: string;
  password?: string;
  /** Given to sudo on the host when exec asks for sudo; stored like password, never shown. */
  sudoPassword?: string;
  /** Stored as given; may start with "~". */
  keyPath?: string;
  /** Pinned "SHA256:..." fingerprint, canonical (no '=' padding). */
  hostKey?: string;
  agentForward?: boolean;
  /** host_id of a saved host to connect through, like OpenSSH's ProxyJump. */
  proxyJump?: string;
}

/** What add-host accepts: a HostConfig whose port defaults to 22. */
export type HostInput = Omit<HostConfig, "port"> & { port?: number };

/** What edit-host accepts: any fields but host_id; an empty password, sudoPassword, keyPath, hostKey or proxyJump removes that field. */
export type HostPatch = Partial<Omit<HostInput, "host_id">>;

/** Fields edit-host may change, in the order they are stored and named in messages. */
export const PATCHABLE_FIELDS = ["host", "port", "username", "password", "sudoPassword", "keyPath", "hostKey", "agentForward", "proxyJump"] as const;

/** Fields an empty string removes on edit. */
export const CLEARABLE_FIELDS = ["password", "sudoPassword", "keyPath", "hostKey", "proxyJump"] as const;

/** A copy of `host` with its fields in the documented order, so hosts.json stays readable and diffs stay small. */
export function canonicalHost(host: HostConfig): HostConfig {
  const out: HostConfig = { host_id: host.host_id, host: host.host, port: host.port, username: host.username };
  if (host.password !== undefined) out.password = host.password;
  if (host.sudoPassword !== undefined) out.sudoPassword = host.sudoPassword;
  if (host.keyPath !== undefined) out.keyPath = host.keyPath;
  if (host.hostKey !== undefined) out.hostKey = host.hostKey;
  if (host.agentForward !== undefined) out.agentForward = host.agentForward;
  if (host.proxyJump !== undefined) out.proxyJump = host.proxyJump;
  return out;
}
