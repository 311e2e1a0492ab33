import { hostNameProblem, normalizeHostName } from "./host-name.js";
import type { ResolvedHost } from "./resolved-host.js";
import { SshConfigError, type SshConfigFile, type SshConfigSettings } from "./ssh-config.js";

/** Most hops a chain may have, as for saved hosts' proxyJump. */
export const MAX_JUMPS = 8;

/** One hop of a ProxyJump value: `[user@]host[:port]` or `ssh://[user@]host[:port]`. */
export interface JumpSpec {
  user?: string;
  host: string;
  port?: number;
}

/** Parse a ProxyJump value ("a", "u@h:2222,k", "ssh://u@[::1]:22") into its hops, first hop first. */
export function parseProxyJump(value: string, file: string): JumpSpec[] {
  return value.split(",").map((raw) => {
    const bad = (why: string) => new SshConfigError(file, `ProxyJump ${value}: '${raw}' ${why}`);
    const text = raw.trim().replace(/^ssh:\/\//, "");
    const at = text.lastIndexOf("@");
    const user = at >= 0 ? text.slice(0, at) : undefined;
    const rest = at >= 0 ? text.slice(at + 1) : text;
    const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest) ?? /^([^:]+)(?::(\d+))?$/.exec(rest);
    if (!match || match[1] === "" || user === "") throw bad("is not [user@]host[:port]");
    const port = match[2] === undefined ? undefined : Number(match[2]);
    if (port !== undefined && (port < 1 || port > 65535)) throw bad("has a port outside 1-65535");
    return { ...(user !== undefined && { user }), host: match[1]!, ...(port !== undefined && { port }) };
  });
}

/** What resolving an alias reports besides the host: the options it ignored, for one line on stderr. */
export interface SshConfigResolution {
  host: ResolvedHost;
  /** The alias's ProxyJump as written, for list-hosts. */
  proxyJump?: string;
  /** "Match", "ProxyCommand"...: applied to this host or a hop of it, ignored by ssh-mcp. */
  ignored: string[];
}

/**
 * Resolve `name` (an alias or any host name) through the config, as ssh would for `ssh name`,
 * with its ProxyJump hops resolved the same way: for `ProxyJump a,b`, `a` is reached with its
 * own settings (its own ProxyJump included) and `b` through `a`, as `ssh -J a,b` does.
 */
export function resolveSshConfigHost(config: SshConfigFile, name: string): SshConfigResolution {
  const ignored = new Set<string>();
  const host = resolveHop(config, { host: name }, name, undefined, [], ignored);
  const { proxyJump } = config.resolve(name);
  return { host, ignored: [...ignored], ...(proxyJump !== undefined && { proxyJump }) };
}

function resolveHop(
  config: SshConfigFile,
  spec: JumpSpec,
  id: string,
  forcedVia: ResolvedHost | undefined,
  path: string[],
  ignored: Set<string>,
): ResolvedHost {
  if (path.length > MAX_JUMPS) {
    throw new SshConfigError(config.file, `the ProxyJump chain ${[...path, id].join(" -> ")} loops or is longer than ${MAX_JUMPS} hops`);
  }
  const settings = config.resolve(spec.host);
  settings.ignored.forEach((o) => ignored.add(o));
  const user = spec.user ?? settings.user;
  const port = spec.port ?? settings.port;
  let via = forcedVia;
  if (via === undefined && settings.proxyJump !== undefined) {
    const hops = parseProxyJump(settings.proxyJump, config.file);
    for (const hop of hops) {
      via = resolveHop(config, hop, formatSpec(hop), via, [...path, id], ignored);
    }
  }
  return toResolvedHost(config, spec.host, id, { ...settings, user, port }, via);
}

function toResolvedHost(config: SshConfigFile, name: string, id: string, settings: SshConfigSettings, via?: ResolvedHost): ResolvedHost {
  const host = normalizeHostName(settings.hostname);
  const problem = hostNameProblem(host);
  if (problem) throw new SshConfigError(config.file, `host '${id}' has HostName ${settings.hostname}, which ${problem}`);
  const strict = settings.strictHostKeyChecking;
  return {
    source: "ssh-config",
    host_id: id,
    host,
    port: settings.port,
    username: settings.user,
    identityFiles: settings.identityFiles.map((f) => config.expandIdentityFile(f, settings, name)),
    identitiesOnly: settings.identitiesOnly,
    ...(settings.forwardAgent && { agentForward: true }),
    ...(via && { via }),
    ...(settings.connectTimeout !== undefined && settings.connectTimeout > 0 && { connectTimeoutMs: settings.connectTimeout * 1000 }),
    keepaliveIntervalMs: settings.serverAliveInterval * 1000,
    keepaliveCountMax: settings.serverAliveCountMax,
    knownHostsFiles: settings.userKnownHostsFiles,
    // "ask" asks the person at the client (form elicitation), and refuses when nobody can be asked. "no"
    // still refuses a changed key (OpenSSH would connect, with password logins off): ssh-mcp never trusts a changed key silently.
    ...(strict !== undefined && { strictHostKeys: strict === "no" ? "accept-new" : strict }),
  };
}

function formatSpec(spec: JumpSpec): string {
  const host = spec.host.includes(":") ? `[${spec.host}]` : spec.host;
  return `${spec.user ? `${spec.user}@` : ""}${host}${spec.port ? `:${spec.port}` : ""}`;
}
