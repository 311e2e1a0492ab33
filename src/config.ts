import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import { SshMcpError } from "./errors.js";
import type { StrictHostKeyChecking } from "./ssh/host-key-trust.js";

/** Everything the server reads from its environment, checked once at start-up. */
export interface Config {
  /** The user's home: where ~ in keyPath points. */
  homeDir: string;
  /** ~/.ssh-mcp: hosts.json and known_hosts. */
  dataDir: string;
  /** ~/.ssh/known_hosts, read and never written. */
  userKnownHostsFile: string;
  /** ~/.ssh/config (SSH_MCP_SSH_CONFIG), read and never written; undefined for "none". */
  sshConfigFile?: string;
  /** The local user name: ssh config's default User and its %u. */
  localUser: string;
  strictHostKeys: StrictHostKeyChecking;
  idleTimeoutMs: number;
  execTimeoutMs: number;
  /** How long exec and read-output wait before handing back a command that is still running. */
  execYieldMs: number;
  maxOutputBytes: number;
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  /** Live sessions at once, counting those still connecting. */
  maxSessions: number;
  /** Sessions connecting at once (each holds a socket until it connects or times out); more starts wait. */
  maxConnecting: number;
  keyPassphrase?: string;
  agentSocket?: string;
  /** Record every command in dataDir/audit.jsonl (SSH_MCP_AUDIT, on unless "off"). */
  audit: boolean;
  /** Size at which the audit log is rotated. */
  auditMaxBytes: number;
}

/** Defaults, documented in the README. */
export const DEFAULTS = {
  idleTimeoutMs: 2 * 60 * 60 * 1000,
  // Commands no longer block the client past execYieldMs, so the hard limit can be generous.
  execTimeoutMs: 30 * 60 * 1000,
  // Well under the 60 s after which MCP clients commonly give up on a call.
  execYieldMs: 30_000,
  maxOutputBytes: 64 * 1024,
  connectTimeoutMs: 20_000,
  keepaliveIntervalMs: 5_000,
  keepaliveCountMax: 3,
  maxSessions: 50,
  maxConnecting: 10,
  auditMaxBytes: 10 * 1024 * 1024,
} as const;

/** Highest SSH_MCP_MAX_SESSIONS and SSH_MCP_MAX_CONNECTING: past this, file descriptors run out first. */
export const MAX_COUNT_SETTING = 10_000;

/** Node's timers fire at once for longer delays, so no timeout may exceed this (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Longest command accepted (a long heredoc that writes a file is legitimate). */
export const MAX_COMMAND_BYTES = 512 * 1024;

/** A setting in the environment that cannot be used. */
export class ConfigError extends SshMcpError {}

/** Read and check the environment; throws ConfigError naming the variable at fault. */
export function readConfig(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): Config {
  return {
    homeDir: home,
    dataDir: join(home, ".ssh-mcp"),
    userKnownHostsFile: join(home, ".ssh", "known_hosts"),
    ...sshConfigFile(env.SSH_MCP_SSH_CONFIG, home),
    localUser: localUser(env),
    strictHostKeys: strictHostKeys(env.SSH_MCP_STRICT_HOST_KEYS),
    idleTimeoutMs: positiveInt(env, "SSH_MCP_IDLE_TIMEOUT_MS", DEFAULTS.idleTimeoutMs),
    execTimeoutMs: positiveInt(env, "SSH_MCP_EXEC_TIMEOUT_MS", DEFAULTS.execTimeoutMs),
    execYieldMs: positiveInt(env, "SSH_MCP_EXEC_YIELD_MS", DEFAULTS.execYieldMs, 0),
    maxOutputBytes: positiveInt(env, "SSH_MCP_MAX_OUTPUT_BYTES", DEFAULTS.maxOutputBytes, 256),
    connectTimeoutMs: positiveInt(env, "SSH_MCP_CONNECT_TIMEOUT_MS", DEFAULTS.connectTimeoutMs),
    keepaliveIntervalMs: positiveInt(env, "SSH_MCP_KEEPALIVE_INTERVAL_MS", DEFAULTS.keepaliveIntervalMs),
    keepaliveCountMax: positiveInt(env, "SSH_MCP_KEEPALIVE_COUNT_MAX", DEFAULTS.keepaliveCountMax),
    maxSessions: positiveInt(env, "SSH_MCP_MAX_SESSIONS", DEFAULTS.maxSessions, 1, MAX_COUNT_SETTING),
    maxConnecting: positiveInt(env, "SSH_MCP_MAX_CONNECTING", DEFAULTS.maxConnecting, 1, MAX_COUNT_SETTING),
    keyPassphrase: env.SSH_MCP_KEY_PASSPHRASE,
    agentSocket: env.SSH_AUTH_SOCK || undefined,
    audit: onOff(env.SSH_MCP_AUDIT),
    auditMaxBytes: positiveInt(env, "SSH_MCP_AUDIT_MAX_BYTES", DEFAULTS.auditMaxBytes, 1024),
  };
}

function onOff(value: string | undefined): boolean {
  if (value === undefined || value === "" || value === "on") return true;
  if (value === "off") return false;
  throw new ConfigError(`SSH_MCP_AUDIT='${value}' is not valid: use on (the default) or off.`);
}

function sshConfigFile(value: string | undefined, home: string): { sshConfigFile?: string } {
  if (value === undefined || value === "") return { sshConfigFile: join(home, ".ssh", "config") };
  if (value === "none") return {};
  return { sshConfigFile: value.startsWith("~/") ? join(home, value.slice(2)) : value };
}

/** As ssh: the login name of the process's user; $USER only where there is no passwd entry (some containers). */
function localUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? env.LOGNAME ?? "root";
  }
}

function strictHostKeys(value: string | undefined): StrictHostKeyChecking {
  if (value === undefined || value === "") return "accept-new";
  if (value === "accept-new" || value === "yes" || value === "no" || value === "ask") return value;
  throw new ConfigError(`SSH_MCP_STRICT_HOST_KEYS='${value}' is not valid: use accept-new (the default), ask, yes or no.`);
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1, max = MAX_TIMER_MS): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name}='${raw}' is not valid: give a whole number from ${min} to ${max} (default ${fallback}).`);
  }
  return value;
}
