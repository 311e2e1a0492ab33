import { MAX_LISTED, listSome } from "../errors.js";
import { normalizeFingerprint } from "../ssh/host-key.js";
import { hostNameProblem, normalizeHostName } from "./host-name.js";
import { CLEARABLE_FIELDS, PATCHABLE_FIELDS, canonicalHost, type HostConfig, type HostInput, type HostPatch } from "./host-config.js";
import { InvalidHostError } from "./host-errors.js";
import { MAX_LENGTH } from "./host-fields.js";
import { KeyFileError, readPrivateKeyFile } from "./key-file.js";

type ClearableField = (typeof CLEARABLE_FIELDS)[number];

/** A validated edit: fields to set (already canonical) and fields to remove. */
export interface HostChanges {
  set: Partial<Omit<HostConfig, "host_id">>;
  unset: ClearableField[];
}

// Whitespace or control characters in names break log lines, copy-pasted hints and ssh's own config syntax.
const WHITESPACE_OR_CONTROL = /[\s\p{Cc}]/u;
const HOST_EXAMPLES = 'Give one host name such as "db.example.com", an IPv4 address such as "10.0.0.5" or an IPv6 address such as "2001:db8::1".';
// Characters that show as nothing (or change how what follows is shown) let one id pass for another:
// format characters (bidi overrides, zero-width joiners, soft hyphen), private-use, unassigned and lone
// surrogate code points, and the blank letters and marks that render as nothing.
const INVISIBLE = /[\p{Cf}\p{Co}\p{Cn}\p{Cs}\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u2800\u3164\uFE00-\uFE0F\uFFA0\u{E0100}-\u{E01EF}]/u;

/** Validate every field of a new host and return it as it will be stored (port defaulted, hostKey canonical). */
export async function validateNewHost(input: HostInput, homeDir: string): Promise<HostConfig> {
  if (typeof input !== "object" || input === null) {
    throw new InvalidHostError("host_id", "Invalid host: expected an object with host_id, host and username.");
  }
  const host: HostConfig = {
    host_id: checkHostId(input.host_id),
    host: checkHost(input.host),
    port: input.port === undefined ? 22 : checkPort(input.port),
    username: checkName("username", input.username, "the login name on the remote host"),
  };
  if (input.password !== undefined) host.password = checkPassword(input.password);
  if (input.sudoPassword !== undefined) host.sudoPassword = checkPassword(input.sudoPassword, "sudoPassword");
  if (input.keyPath !== undefined) host.keyPath = await checkKeyPath(input.keyPath, homeDir);
  if (input.hostKey !== undefined) host.hostKey = checkHostKey(input.hostKey);
  if (input.agentForward !== undefined) host.agentForward = checkAgentForward(input.agentForward);
  if (input.proxyJump !== undefined) host.proxyJump = checkHostId(input.proxyJump, "proxyJump");
  return host;
}

/** Validate the given (non-undefined) fields of an edit; an empty password, keyPath or hostKey means "remove it". */
export async function validatePatch(patch: HostPatch, homeDir: string): Promise<HostChanges> {
  if (typeof patch !== "object" || patch === null) throw nothingToChange();
  // The type forbids it, but a client may still send one: renaming silently would orphan references to the old id.
  if ((patch as { host_id?: unknown }).host_id !== undefined) {
    throw new InvalidHostError(
      "host_id",
      "host_id cannot be changed by edit-host. Remove the host and add it again under the new host_id.",
    );
  }
  if (PATCHABLE_FIELDS.every((field) => patch[field] === undefined)) throw nothingToChange();

  const changes: HostChanges = { set: {}, unset: [] };
  if (patch.host !== undefined) changes.set.host = checkHost(patch.host);
  if (patch.port !== undefined) changes.set.port = checkPort(patch.port);
  if (patch.username !== undefined) changes.set.username = checkName("username", patch.username, "the login name on the remote host");
  if (patch.password === "") changes.unset.push("password");
  else if (patch.password !== undefined) changes.set.password = checkPassword(patch.password);
  if (patch.sudoPassword === "") changes.unset.push("sudoPassword");
  else if (patch.sudoPassword !== undefined) changes.set.sudoPassword = checkPassword(patch.sudoPassword, "sudoPassword");
  if (patch.keyPath === "") changes.unset.push("keyPath");
  else if (patch.keyPath !== undefined) changes.set.keyPath = await checkKeyPath(patch.keyPath, homeDir);
  if (patch.hostKey === "") changes.unset.push("hostKey");
  else if (patch.hostKey !== undefined) changes.set.hostKey = checkHostKey(patch.hostKey);
  if (patch.agentForward !== undefined) changes.set.agentForward = checkAgentForward(patch.agentForward);
  if (patch.proxyJump === "") changes.unset.push("proxyJump");
  else if (patch.proxyJump !== undefined) changes.set.proxyJump = checkHostId(patch.proxyJump, "proxyJump");
  return changes;
}

/** The proxyJump chain from `hostId` must lead through saved hosts and never loop back. */
export function checkJumpChain(hosts: readonly HostConfig[], hostId: string): void {
  // Most hosts jump through nothing; indexing thousands of hosts for them made every add slower.
  if (hosts.find((h) => h.host_id === hostId)?.proxyJump === undefined) return;
  const byId = new Map(hosts.map((h) => [h.host_id, h]));
  const chain = [hostId];
  for (let current = byId.get(hostId); current?.proxyJump !== undefined; current = byId.get(current.proxyJump)) {
    const next = current.proxyJump;
    if (!byId.has(next)) {
      throw new InvalidHostError(
        "proxyJump",
        `No host '${next}' to jump through (the proxyJump of '${current.host_id}'). Add it with add-host first, or give the host_id of a saved host.`,
      );
    }
    if (chain.includes(next)) {
      throw new InvalidHostError("proxyJump", `proxyJump would loop: ${showChain([...chain, next])}. Choose a jump host that does not lead back.`);
    }
    chain.push(next);
  }
}

/** A host that others jump through cannot go: they would be left pointing at nothing. */
export function checkNotJumpHost(hosts: readonly HostConfig[], hostId: string): void {
  const users = hosts.filter((h) => h.proxyJump === hostId).map((h) => h.host_id);
  if (users.length) {
    throw new InvalidHostError(
      "host_id",
      `Host '${hostId}' is the proxyJump of ${listSome(users, "list-hosts")}. Change their proxyJump with edit-host (or remove them) first.`,
    );
  }
}

/** Fields that say which account on which machine a host is. */
export type TargetField = "host" | "port" | "username";

/** The result of an edit: the host as saved, and what was dropped or kept because it now points elsewhere. */
export interface HostEdit {
  host: HostConfig;
  /** Trust given to the old target that the edit removed; empty when nothing was. */
  removed: Array<{ field: "password" | "sudoPassword" | "agentForward"; because: TargetField[] }>;
  /** True when host or port changed and the pinned hostKey stays: a different machine will then be refused. */
  keptHostKey: boolean;
}

/**
 * The host with validated changes applied, fields in stored order. A password belongs to an account
 * on a machine, and agent forwarding lends our keys to a machine: when the edit points the host_id
 * elsewhere without giving them again, they are removed rather than sent to the new target.
 */
export function applyChanges(host: HostConfig, changes: HostChanges): HostEdit {
  const next: HostConfig = { ...host, ...changes.set };
  for (const field of changes.unset) delete next[field];
  const changed = (["host", "port", "username"] as const).filter((f) => changes.set[f] !== undefined && changes.set[f] !== host[f]);
  const moved = changed.filter((f) => f !== "username");
  const removed: HostEdit["removed"] = [];
  for (const secret of ["password", "sudoPassword"] as const) {
    if (changed.length && host[secret] !== undefined && changes.set[secret] === undefined && !changes.unset.includes(secret)) {
      delete next[secret];
      removed.push({ field: secret, because: changed });
    }
  }
  if (moved.length && host.agentForward === true && changes.set.agentForward === undefined) {
    delete next.agentForward;
    removed.push({ field: "agentForward", because: moved });
  }
  // The pin is kept: it fails closed (a different machine is refused), where dropping it would let
  // accept-new trust whatever answers at the new address.
  const keptHostKey = moved.length > 0 && next.hostKey !== undefined && changes.set.hostKey === undefined;
  return { host: canonicalHost(next), removed, keptHostKey };
}

/** "a -> b -> a", or for a long chain its ends: "a -> b -> ... (9000 hosts) -> y -> a". */
function showChain(chain: readonly string[]): string {
  if (chain.length <= MAX_LISTED) return chain.join(" -> ");
  const half = MAX_LISTED / 2;
  return [...chain.slice(0, half), `... (${chain.length - MAX_LISTED} more)`, ...chain.slice(-half)].join(" -> ");
}

function nothingToChange(): InvalidHostError {
  return new InvalidHostError(
    "patch",
    `Nothing to change: give at least one of ${PATCHABLE_FIELDS.join(", ")}.`,
  );
}

/** A value quoted for a message, so stray whitespace is visible, and cut short so a pasted blob cannot flood it. */
function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function checkString(field: string, value: unknown, what: string): string {
  if (value === undefined || value === null) throw new InvalidHostError(field, `Invalid ${field}: it is required (${what}).`);
  if (typeof value !== "string") throw new InvalidHostError(field, `Invalid ${field} ${show(value)}: must be a string (${what}).`);
  if (value === "") throw new InvalidHostError(field, `Invalid ${field}: must not be empty (${what}).`);
  checkLength(field, value);
  return value;
}

/** The field's limit from MAX_LENGTH, the one the tool schemas advertise; never quotes the value. */
function checkLength(field: string, value: string): void {
  const max = MAX_LENGTH[field as keyof typeof MAX_LENGTH];
  if (max !== undefined && value.length > max) {
    throw new InvalidHostError(field, `Invalid ${field}: too long (${value.length} characters; the limit is ${max}).`);
  }
}

function checkName(field: string, value: unknown, what: string): string {
  const name = checkString(field, value, what);
  if (WHITESPACE_OR_CONTROL.test(name)) {
    throw new InvalidHostError(field, `Invalid ${field} ${show(name)}: must not contain whitespace or control characters.`);
  }
  return name;
}

/** A single host name or address, never a pattern: it becomes the host's name in known_hosts. IPv6 brackets are dropped. */
function checkHost(value: unknown): string {
  const host = normalizeHostName(checkString("host", value, "the host name or IP address to connect to"));
  const problem = hostNameProblem(host);
  if (problem) throw new InvalidHostError("host", `Invalid host ${show(value)}: ${problem}. ${HOST_EXAMPLES}`);
  return host;
}

/** A saved host's `host` is checked again before use: hosts.json may predate this check or be edited by hand. */
export function checkSavedHost(host: HostConfig): void {
  const problem = hostNameProblem(host.host);
  if (problem) {
    throw new InvalidHostError(
      "host",
      `Host '${host.host_id}' is saved with an invalid host ${show(host.host)}: ${problem}. ` +
        `Correct it with edit-host (or in hosts.json). ${HOST_EXAMPLES}`,
    );
  }
}

function checkHostId(value: unknown, field: "host_id" | "proxyJump" = "host_id"): string {
  const what = field === "host_id" ? "a short name you choose for this host, e.g. \"web\"" : "the host_id of a saved host to connect through";
  const id = checkName(field, value, what);
  const invisible = INVISIBLE.exec(id);
  if (invisible) {
    const code = `U+${invisible[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
    // The id itself is not quoted: a bidi override would rearrange the rest of this message.
    throw new InvalidHostError(
      field,
      `Invalid ${field}: it contains ${code}, an invisible or formatting character that can make one id look like another. Use visible letters, digits and punctuation.`,
    );
  }
  // "é" typed as e + combining accent looks the same as the single letter but is another id.
  if (id.normalize("NFC") !== id) {
    throw new InvalidHostError(field, `Invalid ${field} ${show(id)}: it has accented letters in decomposed form; type them as single characters (Unicode NFC).`);
  }
  // "." and ".." read like paths and would be confusing in messages and any future per-host files.
  if (/^\.+$/.test(id)) throw new InvalidHostError(field, `Invalid ${field} ${show(id)}: must not consist only of dots.`);
  return id;
}

function checkPort(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new InvalidHostError("port", `Invalid port ${show(value)}: must be an integer from 1 to 65535.`);
  }
  return value;
}

function checkPassword(value: unknown, field: "password" | "sudoPassword" = "password"): string {
  // Never echo the value: it is a secret even when malformed.
  if (typeof value !== "string") throw new InvalidHostError(field, `Invalid ${field}: must be a string.`);
  if (value === "") {
    const omit = field === "password" ? "Omit password to use keyPath or ssh-agent." : "Omit sudoPassword for sudo without a password.";
    throw new InvalidHostError(field, `Invalid ${field}: must not be empty. ${omit}`);
  }
  checkLength(field, value);
  // sudo reads its password up to the first newline: the rest would be typed into the command.
  if (field === "sudoPassword" && /[\r\n\0]/.test(value)) throw new InvalidHostError(field, `Invalid ${field}: must not contain a line break or NUL.`);
  return value;
}

async function checkKeyPath(value: unknown, homeDir: string): Promise<string> {
  const keyPath = checkString("keyPath", value, "the path of a private key file");
  try {
    await readPrivateKeyFile(keyPath, homeDir);
  } catch (error) {
    if (!(error instanceof KeyFileError)) throw error;
    const resolved = error.path === keyPath ? "" : ` (resolved to ${error.path})`;
    throw new InvalidHostError(
      "keyPath",
      `Invalid keyPath ${show(keyPath)}${resolved}: the file ${error.problem}. ` +
        `Give the path of an existing private key, or omit keyPath to use ssh-agent.`,
      { cause: error },
    );
  }
  return keyPath;
}

function checkHostKey(value: unknown): string {
  if (typeof value === "string") checkLength("hostKey", value);
  const canonical = typeof value === "string" ? normalizeFingerprint(value) : null;
  if (canonical === null) {
    throw new InvalidHostError(
      "hostKey",
      `Invalid hostKey ${show(value)}: not a SHA256 fingerprint. ` +
        `Give it as "SHA256:" followed by 43 base64 characters, as ssh-keygen -lf prints it.`,
    );
  }
  return canonical;
}

function checkAgentForward(value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw new InvalidHostError("agentForward", `Invalid agentForward ${show(value)}: must be true or false.`);
  }
  return value;
}
