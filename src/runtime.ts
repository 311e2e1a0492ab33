import { join } from "node:path";
import { MAX_COMMAND_BYTES, type Config } from "./config.js";
import { AuditLog } from "./audit/audit-log.js";
import { HostDirectory } from "./hosts/host-directory.js";
import { HostStore } from "./hosts/host-store.js";
import { Guard } from "./policy/guard.js";
import { PolicyFile } from "./policy/policy-file.js";
import { HostKeyTrust } from "./ssh/host-key-trust.js";
import { SessionManager } from "./session/session-manager.js";

/** The domain objects one process needs, built from a Config. */
export interface Runtime {
  store: HostStore;
  /** Saved hosts and the aliases of ~/.ssh/config, by host_id. */
  hosts: HostDirectory;
  trust: HostKeyTrust;
  sessions: SessionManager;
  /** The person's command policy (dataDir/policy.json). */
  policies: PolicyFile;
}

/** Build the host store, host-key trust and session manager; knows nothing of MCP. */
export function createRuntime(config: Config, log: (message: string) => void = () => undefined): Runtime {
  const store = new HostStore({ dir: config.dataDir, homeDir: config.homeDir, warn: log });
  const sshConfig = config.sshConfigFile === undefined ? undefined : { file: config.sshConfigFile, homeDir: config.homeDir, localUser: config.localUser };
  const hosts = new HostDirectory(store, sshConfig, log);
  const trust = new HostKeyTrust({
    knownHostsFile: join(config.dataDir, "known_hosts"),
    userKnownHostsFiles: [config.userKnownHostsFile],
    policy: config.strictHostKeys,
    warn: log,
  });
  const policies = new PolicyFile(join(config.dataDir, "policy.json"));
  const audit = config.audit ? new AuditLog({ file: join(config.dataDir, "audit.jsonl"), maxBytes: config.auditMaxBytes, warn: log }) : undefined;
  const sessions = new SessionManager({
    guard: new Guard(policies),
    audit,
    hosts,
    connect: {
      trust,
      connectTimeoutMs: config.connectTimeoutMs,
      keepaliveIntervalMs: config.keepaliveIntervalMs,
      keepaliveCountMax: config.keepaliveCountMax,
      keyPassphrase: config.keyPassphrase,
      agentSocket: config.agentSocket,
      homeDir: config.homeDir,
    },
    idleTimeoutMs: config.idleTimeoutMs,
    execTimeoutMs: config.execTimeoutMs,
    yieldMs: config.execYieldMs,
    maxOutputBytes: config.maxOutputBytes,
    maxCommandBytes: MAX_COMMAND_BYTES,
    maxSessions: config.maxSessions,
    maxConnecting: config.maxConnecting,
    log,
  });
  return { store, hosts, trust, sessions, policies };
}
