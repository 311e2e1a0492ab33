import { access } from "node:fs/promises";
import { SshMcpError } from "../errors.js";
import type { HostConfig, HostInput, HostPatch } from "./host-config.js";
import { HostNotFoundError, InvalidHostError } from "./host-errors.js";
import { MAX_LENGTH } from "./host-fields.js";
import type { HostEdit, HostStore } from "./host-store.js";
import { fromSavedHost, type ResolvedHost } from "./resolved-host.js";
import { SshConfigFile, type SshConfigContext } from "./ssh-config.js";
import { MAX_JUMPS, resolveSshConfigHost } from "./ssh-config-host.js";

/** Where ~/.ssh/config is and whose it is; absent when SSH_MCP_SSH_CONFIG=none. */
export interface SshConfigSource extends SshConfigContext {
  file: string;
}

/** A host as list-hosts shows it, from either file. */
export type ListedHost =
  | { source: "hosts.json"; host: HostConfig }
  | { source: "ssh-config"; file: string; host: ResolvedHost; proxyJump?: string; /** The first IdentityFile that exists, if any. */ keyFile?: string };

/** What list() found: every usable host, and why ~/.ssh/config added none, when it could not be read. */
export interface HostListing {
  hosts: ListedHost[];
  sshConfigProblem?: string;
}

/** edit-host or remove-host on a host that comes from ~/.ssh/config, which is the user's file. */
export class SshConfigHostReadOnlyError extends SshMcpError {
  constructor(
    readonly hostId: string,
    readonly file: string,
  ) {
    super(
      `Host '${hostId}' comes from ${file}, which belongs to you: ssh-mcp never writes it. ` +
        `Change or remove its Host block there, or save a host with the same host_id with add-host (a saved host wins over the alias).`,
    );
  }
}

// An alias that could never be typed as a host_id (too long, blanks, control characters) is not offered.
const USABLE_ID = new RegExp(`^[^\\s\\p{Cc}]{1,${MAX_LENGTH.host_id}}$`, "u");

/**
 * Every host a host_id can name: saved hosts (hosts.json) first, then the concrete aliases of
 * ~/.ssh/config. The config is read afresh on each call, so edits to it apply at once; it is only
 * ever read. Writes go to the HostStore, and refuse hosts that only the config has.
 */
export class HostDirectory {
  private readonly warned = new Set<string>();

  constructor(
    readonly store: HostStore,
    private readonly sshConfig: SshConfigSource | undefined,
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  /** The host `hostId` names, with its jump hosts resolved; HostNotFoundError listing both sources otherwise. */
  async get(hostId: string): Promise<ResolvedHost> {
    const saved = await this.store.list();
    if (saved.some((h) => h.host_id === hostId)) return this.resolveSaved(saved, hostId, []);
    const config = await this.loadConfig();
    if (config && usableAliases(config).includes(hostId)) {
      const { host, ignored } = resolveSshConfigHost(config, hostId);
      if (ignored.length) {
        this.warnOnce(`${config.file}: host '${hostId}': ignoring ${ignored.join(", ")} (not supported by ssh-mcp)`);
      }
      return host;
    }
    throw new HostNotFoundError(hostId, [...saved.map((h) => h.host_id), ...(config ? usableAliases(config) : [])]);
  }

  /** Saved hosts, then the aliases of ~/.ssh/config that no saved host shadows. */
  async list(): Promise<HostListing> {
    const saved = await this.store.list();
    const hosts: ListedHost[] = saved.map((host) => ({ source: "hosts.json", host }));
    let config: SshConfigFile | undefined;
    try {
      config = await this.loadConfig();
    } catch (error) {
      if (!(error instanceof SshMcpError)) throw error;
      return { hosts, sshConfigProblem: error.message };
    }
    if (!config) return { hosts };
    const taken = new Set(saved.map((h) => h.host_id));
    const problems: string[] = [];
    for (const alias of usableAliases(config)) {
      if (taken.has(alias)) continue;
      try {
        const { host, proxyJump } = resolveSshConfigHost(config, alias);
        const keyFile = await firstExisting(host.identityFiles ?? []);
        hosts.push({
          source: "ssh-config",
          file: config.file,
          host,
          ...(proxyJump !== undefined && { proxyJump }),
          ...(keyFile !== undefined && { keyFile }),
        });
      } catch (error) {
        if (!(error instanceof SshMcpError)) throw error;
        problems.push(error.message);
      }
    }
    return { hosts, ...(problems.length && { sshConfigProblem: problems.join(" ") }) };
  }

  /** add-host: saved in hosts.json; the same id as an ssh config alias is allowed, and then wins. */
  add(input: HostInput): Promise<HostConfig> {
    return this.store.add(input);
  }

  /** edit-host: saved hosts only; an alias of ~/.ssh/config gets SshConfigHostReadOnlyError. */
  async edit(hostId: string, patch: HostPatch): Promise<HostEdit> {
    return this.store.edit(hostId, patch).catch((error: unknown) => this.readOnlyIfAlias(error, hostId));
  }

  /** remove-host: saved hosts only; an alias of ~/.ssh/config gets SshConfigHostReadOnlyError. */
  async remove(hostId: string): Promise<HostConfig> {
    return this.store.remove(hostId).catch((error: unknown) => this.readOnlyIfAlias(error, hostId));
  }

  /** The saved host `hostId`, which edit() may change; SshConfigHostReadOnlyError for an ssh config alias. */
  async editable(hostId: string): Promise<HostConfig> {
    return this.store.get(hostId).catch((error: unknown) => this.readOnlyIfAlias(error, hostId));
  }

  private async readOnlyIfAlias(error: unknown, hostId: string): Promise<never> {
    if (error instanceof HostNotFoundError) {
      const config = await this.loadConfig().catch(() => undefined);
      if (config && usableAliases(config).includes(hostId)) throw new SshConfigHostReadOnlyError(hostId, config.file);
      if (config) throw new HostNotFoundError(hostId, [...error.knownIds, ...usableAliases(config)]);
    }
    throw error;
  }

  private async resolveSaved(saved: readonly HostConfig[], hostId: string, path: string[]): Promise<ResolvedHost> {
    const host = saved.find((h) => h.host_id === hostId);
    if (!host) throw new HostNotFoundError(hostId, saved.map((h) => h.host_id));
    if (host.proxyJump === undefined) return fromSavedHost(host);
    if (path.includes(hostId) || path.length >= MAX_JUMPS) {
      throw new InvalidHostError(
        "proxyJump",
        `The proxyJump chain ${[...path, hostId].join(" -> ")} loops or is longer than ${MAX_JUMPS} hops. Fix proxyJump with edit-host.`,
      );
    }
    return fromSavedHost(host, await this.resolveSaved(saved, host.proxyJump, [...path, hostId]));
  }

  private async loadConfig(): Promise<SshConfigFile | undefined> {
    if (!this.sshConfig) return undefined;
    return SshConfigFile.load(this.sshConfig.file, this.sshConfig);
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.warn(message);
  }
}

function usableAliases(config: SshConfigFile): string[] {
  return config.aliases().filter((alias) => USABLE_ID.test(alias));
}

async function firstExisting(files: string[]): Promise<string | undefined> {
  for (const file of files) {
    if (await access(file).then(() => true, () => false)) return file;
  }
  return undefined;
}
