import { constants } from "node:fs";
import { readdir } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import SSHConfig, { glob, LineType, type Line } from "ssh-config";
import { SshMcpError } from "../errors.js";
import { expandHome } from "./expand-home.js";
import { openPrivateFile } from "./private-path.js";

/** Options ssh-mcp acts on (lowercase, as ssh -G prints them); everything else is named on stderr and ignored. */
const SUPPORTED = new Set([
  "hostname",
  "user",
  "port",
  "identityfile",
  "identitiesonly",
  "proxyjump",
  "connecttimeout",
  "serveraliveinterval",
  "serveralivecountmax",
  "userknownhostsfile",
  "stricthostkeychecking",
  "forwardagent",
]);
/** Options that take every value given, in order (the others keep the first). */
const CUMULATIVE = new Set(["identityfile"]);
/** OpenSSH's default identities, tried when no IdentityFile applies (ssh -G lists them in this order). */
export const DEFAULT_IDENTITY_FILES = [
  "~/.ssh/id_rsa",
  "~/.ssh/id_ecdsa",
  "~/.ssh/id_ecdsa_sk",
  "~/.ssh/id_ed25519",
  "~/.ssh/id_ed25519_sk",
  "~/.ssh/id_xmss",
  "~/.ssh/id_dsa",
];
/** OpenSSH's READCONF_MAX_DEPTH: Include nests at most this deep. */
const MAX_INCLUDE_DEPTH = 16;
/** Far more than any real config; a bigger file is a mistake, not a config. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** Who is asking: ~ and %d are `homeDir`, %u and the default User are `localUser`. */
export interface SshConfigContext {
  homeDir: string;
  localUser: string;
}

/** A host's settings after resolution, as `ssh -G alias` reports them, for the options ssh-mcp honours. */
export interface SshConfigSettings {
  /** Lowercased, as ssh does. */
  hostname: string;
  user: string;
  port: number;
  /** As written (tokens and ~ not yet expanded, like ssh -G), or OpenSSH's defaults when none applies. */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** As written; absent for none. */
  proxyJump?: string;
  /** Seconds; absent for none. */
  connectTimeout?: number;
  serverAliveInterval: number;
  serverAliveCountMax: number;
  /** Expanded (~ and tokens), as ssh -G prints them. */
  userKnownHostsFiles: string[];
  /** Absent when the config does not say: OpenSSH's default (ask) has no meaning without a person to ask. */
  strictHostKeyChecking?: "yes" | "no" | "accept-new" | "ask";
  forwardAgent: boolean;
  /** Options and blocks that applied to this host but that ssh-mcp ignores (e.g. "Match", "ProxyCommand"). */
  ignored: string[];
}

/** ~/.ssh/config (or an included file) cannot be used as it is. */
export class SshConfigError extends SshMcpError {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}. Fix it there (ssh-mcp only reads it), or set SSH_MCP_SSH_CONFIG=none to ignore it.`);
  }
}

/** One parsed config file and the files its Include lines name, loaded up front so resolution is synchronous. */
export class SshConfigFile {
  private constructor(
    readonly file: string,
    private readonly context: SshConfigContext,
    private readonly parsed: Map<string, SSHConfig>,
    /** Include patterns and the files they matched. */
    private readonly includes: Map<string, string[]>,
  ) {}

  /** Read `file` and everything it includes; a missing file is an empty config. */
  static async load(file: string, context: SshConfigContext): Promise<SshConfigFile> {
    const parsed = new Map<string, SSHConfig>();
    const includes = new Map<string, string[]>();
    const visit = async (path: string, depth: number): Promise<void> => {
      if (parsed.has(path)) return;
      if (depth > MAX_INCLUDE_DEPTH) throw new SshConfigError(file, `Include nests more than ${MAX_INCLUDE_DEPTH} deep (a loop?)`);
      const text = await readConfigText(path);
      const config = parseConfig(path, text);
      parsed.set(path, config);
      for (const pattern of includePatterns(config)) {
        if (!includes.has(pattern)) includes.set(pattern, await expandInclude(pattern, context));
        for (const included of includes.get(pattern)!) await visit(included, depth + 1);
      }
    };
    await visit(file, 0);
    return new SshConfigFile(file, context, parsed, includes);
  }

  /** Every concrete alias (no wildcard, no negation) named by a Host line, in file order, each once. */
  aliases(): string[] {
    const seen = new Set<string>();
    for (const config of this.parsed.values()) {
      for (const line of config) {
        if (!isDirective(line) || line.param.toLowerCase() !== "host") continue;
        for (const pattern of patterns(line.value)) {
          if (!/[*?!]/.test(pattern)) seen.add(pattern);
        }
      }
    }
    return [...seen];
  }

  /** Resolve `name` as `ssh -G` does: the first value obtained wins, Host blocks match `name`, Includes are followed. */
  resolve(name: string): SshConfigSettings {
    const values = new Map<string, string[]>();
    const ignored = new Set<string>();
    const walk = (config: SSHConfig, active: boolean): void => {
      for (const line of config) {
        if (!isDirective(line)) continue;
        const param = line.param.toLowerCase();
        if (param === "host") {
          walk((line as { config: SSHConfig }).config, hostMatches(patterns(line.value), name));
          continue;
        }
        if (param === "match") {
          // Match criteria (exec, user, canonical...) need more than we know; its options never apply.
          ignored.add("Match");
          continue;
        }
        if (!active) continue;
        if (param === "include") {
          for (const pattern of words(line.value)) for (const file of this.includes.get(pattern) ?? []) walk(this.parsed.get(file)!, true);
          continue;
        }
        if (!SUPPORTED.has(param)) {
          ignored.add(line.param);
          continue;
        }
        const given = words(line.value);
        if (CUMULATIVE.has(param)) values.set(param, [...(values.get(param) ?? []), ...given]);
        else if (!values.has(param)) values.set(param, given);
      }
    };
    walk(this.parsed.get(this.file)!, true);
    return this.settings(name, values, [...ignored]);
  }

  private settings(name: string, values: Map<string, string[]>, ignored: string[]): SshConfigSettings {
    const one = (param: string) => values.get(param)?.[0];
    const user = one("user") ?? this.context.localUser;
    // HostName may use %h (the name given) and %%.
    const hostname = expandTokens(one("hostname") ?? name, { h: name }, this.file, "HostName").toLowerCase();
    const port = integer(this.file, "Port", one("port"), 1, 65535) ?? 22;
    const tokens = { h: hostname, r: user, u: this.context.localUser, d: this.context.homeDir, p: String(port), n: name };
    const knownHosts = values.get("userknownhostsfile") ?? ["~/.ssh/known_hosts", "~/.ssh/known_hosts2"];
    const proxyJump = one("proxyjump");
    const connectTimeout = one("connecttimeout");
    const strict = one("stricthostkeychecking")?.toLowerCase();
    return {
      hostname,
      user,
      port,
      identityFiles: values.get("identityfile") ?? DEFAULT_IDENTITY_FILES,
      identitiesOnly: yesNo(this.file, "IdentitiesOnly", one("identitiesonly")) ?? false,
      ...(proxyJump !== undefined && proxyJump.toLowerCase() !== "none" && { proxyJump }),
      ...(connectTimeout !== undefined &&
        connectTimeout.toLowerCase() !== "none" && { connectTimeout: integer(this.file, "ConnectTimeout", connectTimeout, 0, 2_147_483) }),
      serverAliveInterval: integer(this.file, "ServerAliveInterval", one("serveraliveinterval"), 0, 2_147_483) ?? 0,
      serverAliveCountMax: integer(this.file, "ServerAliveCountMax", one("serveralivecountmax"), 0, 1_000_000) ?? 3,
      userKnownHostsFiles:
        knownHosts[0]?.toLowerCase() === "none"
          ? []
          : knownHosts.map((f) => expandHome(expandTokens(f, tokens, this.file, "UserKnownHostsFile"), this.context.homeDir)),
      ...(strict !== undefined && { strictHostKeyChecking: strictness(this.file, strict) }),
      forwardAgent: yesNo(this.file, "ForwardAgent", one("forwardagent")) ?? false,
      ignored,
    };
  }

  /** An IdentityFile as it is opened: tokens and ~ expanded; a relative path is taken from the home (a server's cwd means nothing). */
  expandIdentityFile(raw: string, settings: Pick<SshConfigSettings, "hostname" | "user" | "port">, name: string): string {
    const tokens = {
      h: settings.hostname,
      r: settings.user,
      u: this.context.localUser,
      d: this.context.homeDir,
      p: String(settings.port),
      n: name,
    };
    const path = expandHome(expandTokens(raw, tokens, this.file, "IdentityFile"), this.context.homeDir);
    return isAbsolute(path) ? path : join(this.context.homeDir, path);
  }
}

/** OpenSSH's %-tokens that ssh-mcp knows; any other is refused rather than guessed. */
function expandTokens(value: string, tokens: Record<string, string>, file: string, option: string): string {
  return value.replace(/%(.?)/g, (match, token: string) => {
    if (token === "%") return "%";
    const replacement = tokens[token];
    if (replacement === undefined) {
      throw new SshConfigError(file, `${option} ${value} uses ${match || "a lone %"}, which ssh-mcp does not expand (it knows %d %u %h %r %p %n %%)`);
    }
    return replacement;
  });
}

function isDirective(line: Line): line is Extract<Line, { param: string }> {
  return line.type === LineType.DIRECTIVE;
}

/** A directive's values as plain words. */
function words(value: string | Array<{ val: string }>): string[] {
  const list = typeof value === "string" ? value.split(/\s+/) : value.map((v) => v.val);
  return list.filter((v) => v !== "");
}

/** A Host line's patterns: commas separate them too. */
function patterns(value: string | Array<{ val: string }>): string[] {
  return words(value).flatMap((v) => v.split(",")).filter((v) => v !== "");
}

function hostMatches(patterns: string[], name: string): boolean {
  // OpenSSH compares host patterns case-insensitively; the package's glob also applies negations first.
  return glob(
    patterns.map((p) => p.toLowerCase()),
    name.toLowerCase(),
  );
}

function includePatterns(config: SSHConfig): string[] {
  const out: string[] = [];
  for (const line of config) {
    if (!isDirective(line)) continue;
    if (line.param.toLowerCase() === "include") out.push(...words(line.value));
    if ("config" in line) out.push(...includePatterns((line as { config: SSHConfig }).config));
  }
  return out;
}

/** Files an Include pattern names, sorted like glob(3): ~ is the home, relative paths are under ~/.ssh, * and ? match within one name. */
async function expandInclude(pattern: string, context: SshConfigContext): Promise<string[]> {
  const expanded = expandHome(pattern, context.homeDir);
  const absolute = isAbsolute(expanded) ? expanded : join(context.homeDir, ".ssh", expanded);
  let paths = ["/"];
  for (const part of absolute.split("/").filter(Boolean)) {
    if (!/[*?]/.test(part)) {
      paths = paths.map((p) => join(p, part));
      continue;
    }
    const next: string[] = [];
    for (const dir of paths) {
      const names = await readdir(dir).catch(() => [] as string[]);
      // Like glob(3): a leading dot must be matched explicitly.
      next.push(...names.filter((n) => (part.startsWith(".") || !n.startsWith(".")) && glob(part, n)).sort().map((n) => join(dir, n)));
    }
    paths = next;
  }
  return paths;
}

/** The config text, from a file that passes OpenSSH's ownership and mode checks; "" when it does not exist. */
async function readConfigText(path: string): Promise<string> {
  let opened;
  try {
    // Like ssh: a config that another user could have written could point us at their hosts and keys.
    opened = await openPrivateFile(path, constants.O_RDONLY, { fixMode: "go-w", followLink: true });
  } catch (error) {
    if (error instanceof SshMcpError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR") return "";
    throw new SshConfigError(path, `cannot be read (${code ?? String(error)})`);
  }
  if (opened === null) return "";
  try {
    const stats = await opened.handle.stat();
    if (stats.size > MAX_CONFIG_BYTES) throw new SshConfigError(path, `is larger than ${MAX_CONFIG_BYTES / 1024} KiB`);
    return await opened.handle.readFile("utf8");
  } finally {
    await opened.handle.close();
  }
}

function parseConfig(path: string, text: string): SSHConfig {
  try {
    return SSHConfig.parse(text);
  } catch (error) {
    throw new SshConfigError(path, `cannot be parsed (${error instanceof Error ? error.message : String(error)})`);
  }
}

function integer(file: string, option: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new SshConfigError(file, `${option} ${value} is not a whole number from ${min} to ${max}`);
  return n;
}

function yesNo(file: string, option: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (v === "yes" || v === "true") return true;
  if (v === "no" || v === "false") return false;
  throw new SshConfigError(file, `${option} ${value} is not yes or no`);
}

function strictness(file: string, value: string): NonNullable<SshConfigSettings["strictHostKeyChecking"]> {
  if (value === "yes" || value === "true") return "yes";
  if (value === "no" || value === "off" || value === "false") return "no";
  if (value === "accept-new") return "accept-new";
  if (value === "ask") return "ask";
  throw new SshConfigError(file, `StrictHostKeyChecking ${value} is not yes, no, accept-new or ask`);
}
