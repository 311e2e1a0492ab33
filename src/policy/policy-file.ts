import { readFile, stat } from "node:fs/promises";
import { SshMcpError } from "../errors.js";
import { BUILTIN_DESTRUCTIVE, type Decision, type HostPolicy, type Rule } from "./policy.js";

/** policy.json cannot be used; every command is refused until it is fixed (fail closed). */
export class PolicyFileError extends SshMcpError {}

/** How often the file is looked at for changes, at most (the exec path must not pay a stat each time). */
const RECHECK_MS = 1000;
const DECISIONS: readonly Decision[] = ["allow", "ask", "deny"];
const MODES = ["open", "ask", "read-only"] as const;
const MAX_FILE_BYTES = 1024 * 1024;

interface Loaded {
  defaultPolicy: HostPolicy;
  hosts: Map<string, HostPolicy>;
}

/**
 * The person's policy file (~/.ssh-mcp/policy.json), edited by hand and never by a tool, so a
 * model cannot loosen its own limits:
 *
 *   { "default": "open",
 *     "hosts": { "prod-db": "ask", "web": "read-only",
 *                "app": { "rules": [ { "deny": "builtin:destructive" }, { "allow": "^systemctl status " } ], "default": "ask" } } }
 *
 * Re-read when it changes (looked at once a second at most). A missing file means every host is
 * `open`; a broken one refuses every command, naming the problem, until it is fixed.
 */
export class PolicyFile {
  private loaded: Loaded | PolicyFileError | undefined;
  private checkedAt = 0;
  private mtimeMs = -1;

  constructor(readonly path: string) {}

  /** The policy for a host id. Throws PolicyFileError while the file is broken. */
  async policyFor(hostId: string): Promise<HostPolicy> {
    const loaded = await this.current();
    if (loaded instanceof PolicyFileError) throw loaded;
    return loaded.hosts.get(hostId) ?? loaded.defaultPolicy;
  }

  private async current(): Promise<Loaded | PolicyFileError> {
    const now = Date.now();
    if (this.loaded && now - this.checkedAt < RECHECK_MS) return this.loaded;
    this.checkedAt = now;
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(this.path)).mtimeMs;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") return (this.loaded = this.broken(`cannot be read (${(error as Error).message})`));
      this.mtimeMs = -1;
      return (this.loaded = { defaultPolicy: { mode: "open" }, hosts: new Map() });
    }
    if (this.loaded && mtimeMs === this.mtimeMs) return this.loaded;
    this.mtimeMs = mtimeMs;
    try {
      const text = await readFile(this.path, "utf8");
      if (text.length > MAX_FILE_BYTES) return (this.loaded = this.broken(`is larger than ${MAX_FILE_BYTES} bytes`));
      return (this.loaded = parsePolicyFile(JSON.parse(text)));
    } catch (error) {
      return (this.loaded = this.broken(error instanceof PolicyFileError ? error.message : `is not valid JSON (${(error as Error).message})`));
    }
  }

  private broken(problem: string): PolicyFileError {
    return new PolicyFileError(`The policy file ${this.path} ${problem}. Every command is refused until it is fixed (see "Guardrails" in the README).`);
  }
}

/** Check and compile the file's JSON; throws PolicyFileError naming the field at fault. */
export function parsePolicyFile(json: unknown): Loaded {
  if (!isObject(json)) throw new PolicyFileError("must hold a JSON object with \"default\" and/or \"hosts\"");
  for (const key of Object.keys(json)) {
    if (key !== "default" && key !== "hosts") throw new PolicyFileError(`has an unknown field "${key}" (use "default" and "hosts")`);
  }
  const defaultPolicy = json.default === undefined ? { mode: "open" as const } : parsePolicy(json.default, "default");
  const hosts = new Map<string, HostPolicy>();
  if (json.hosts !== undefined) {
    if (!isObject(json.hosts)) throw new PolicyFileError('has "hosts" that is not an object of host id -> policy');
    for (const [hostId, policy] of Object.entries(json.hosts)) hosts.set(hostId, parsePolicy(policy, `hosts["${hostId}"]`));
  }
  return { defaultPolicy, hosts };
}

function parsePolicy(value: unknown, where: string): HostPolicy {
  if (typeof value === "string") {
    if ((MODES as readonly string[]).includes(value)) return { mode: value as (typeof MODES)[number] };
    throw new PolicyFileError(`has ${where} = "${value}": use "open", "ask", "read-only" or { "rules": [...], "default": ... }`);
  }
  if (!isObject(value) || !Array.isArray(value.rules)) {
    throw new PolicyFileError(`has ${where} that is neither a mode name nor an object with a "rules" list`);
  }
  for (const key of Object.keys(value)) {
    if (key !== "rules" && key !== "default") throw new PolicyFileError(`has an unknown field "${key}" in ${where} (use "rules" and "default")`);
  }
  const fallback = value.default ?? "ask";
  if (!DECISIONS.includes(fallback as Decision)) throw new PolicyFileError(`has ${where}.default = ${JSON.stringify(fallback)}: use "allow", "ask" or "deny"`);
  const rules = value.rules.map((rule, i) => parseRule(rule, `${where}.rules[${i}]`));
  return { mode: "rules", rules, default: fallback as Decision };
}

function parseRule(value: unknown, where: string): Rule {
  const keys = isObject(value) ? Object.keys(value) : [];
  const action = keys[0] as Decision;
  if (!isObject(value) || keys.length !== 1 || !DECISIONS.includes(action) || typeof value[action] !== "string") {
    throw new PolicyFileError(`has ${where} that is not one of { "allow": "<regex>" }, { "ask": "<regex>" }, { "deny": "<regex>" }`);
  }
  const source = value[action] as string;
  if (source === BUILTIN_DESTRUCTIVE) return { action, pattern: BUILTIN_DESTRUCTIVE, source };
  try {
    return { action, pattern: new RegExp(source), source };
  } catch (error) {
    throw new PolicyFileError(`has ${where} with an invalid regular expression ${JSON.stringify(source)} (${(error as Error).message})`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
