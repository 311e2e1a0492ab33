import { createHmac } from "node:crypto";
import { hostNameProblem } from "../hosts/host-name.js";
import { UnsafeHostNameError } from "./host-key-errors.js";
import { keyTypeOf } from "./host-key.js";
import { knownHostName } from "./known-host-name.js";

export { knownHostName } from "./known-host-name.js";

/** One parsed known_hosts line. */
export interface KnownHostEntry {
  file: string;
  /** 1-based line number in `file`. */
  line: number;
  marker?: "@cert-authority" | "@revoked";
  /** The raw host field: a comma-separated pattern list or one hashed "|1|salt|hash" name. */
  hosts: string;
  keyType: string;
  /** Decoded public-key blob. */
  key: Buffer;
}

const MARKERS = new Set(["@cert-authority", "@revoked"]);
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HASH_MAGIC = "|1|";

/** Parse known_hosts text; skips blank/comment/malformed lines (never throws). */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const entry = parseLine(lines[i]!.replace(/\r$/, ""), file, i + 1);
    if (entry) entries.push(entry);
  }
  return entries;
}

function parseLine(raw: string, file: string, line: number): KnownHostEntry | null {
  const fields = raw.trim().split(/[ \t]+/);
  if (fields[0] === "" || fields[0]!.startsWith("#")) return null;
  let marker: KnownHostEntry["marker"];
  if (fields[0]!.startsWith("@")) {
    // OpenSSH ignores lines with an unknown marker rather than treating them as plain entries.
    if (!MARKERS.has(fields[0]!)) return null;
    marker = fields.shift() as KnownHostEntry["marker"];
  }
  const [hosts, keyType, base64] = fields;
  if (!hosts || !keyType || !base64 || !BASE64.test(base64)) return null;
  const key = Buffer.from(base64, "base64");
  try {
    // Like sshkey_read: the type written on the line must be the type inside the blob.
    if (keyTypeOf(key) !== keyType) return null;
  } catch {
    return null;
  }
  return marker ? { file, line, marker, hosts, keyType, key } : { file, line, hosts, keyType, key };
}

/** True when the entry's host field matches host:port: comma-separated patterns with * and ? wildcards, negation with leading '!', "[host]:port" forms, and hashed "|1|salt|hash" entries (HMAC-SHA1 keyed by the base64-decoded salt over knownHostName(host, port)). Matching as OpenSSH: a negated match excludes the entry. Host names compared case-insensitively. */
export function entryMatches(entry: KnownHostEntry, host: string, port: number): boolean {
  // ssh lowercases the host before every lookup, so hashed names are hashed lowercase too.
  const name = knownHostName(host, port).toLowerCase();
  if (entry.hosts.startsWith("|")) return hashedNameMatches(entry.hosts, name);
  let positive = false;
  for (const raw of entry.hosts.split(",")) {
    const negated = raw.startsWith("!");
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!globMatches(pattern, name)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/** Throw UnsafeHostNameError unless host:port is one literal name, so a lookup or a line we write can only ever mean that host. */
export function checkLiteralHost(host: string, port: number): void {
  const problem = Number.isInteger(port) && port >= 1 && port <= 65535 ? hostNameProblem(host) : "has a port outside 1-65535";
  if (problem) throw new UnsafeHostNameError(host, port, problem);
}

/** One line to append: `${knownHostName(host, port)} ${keyType} ${base64}` (no trailing newline); refuses anything but a literal host. */
export function formatKnownHostLine(host: string, port: number, keyBlob: Buffer): string {
  // The last line of defence: a pattern, list, negation, hashed name or marker here would vouch for other hosts.
  checkLiteralHost(host, port);
  return `${knownHostName(host, port)} ${keyTypeOf(keyBlob)} ${keyBlob.toString("base64")}`;
}

function hashedNameMatches(field: string, name: string): boolean {
  // A hashed field is a single name, never a list: "|1|" base64(salt) "|" base64(HMAC-SHA1(salt, name)).
  if (!field.startsWith(HASH_MAGIC)) return false;
  const parts = field.slice(HASH_MAGIC.length).split("|");
  if (parts.length !== 2 || !BASE64.test(parts[0]!) || !BASE64.test(parts[1]!)) return false;
  const salt = Buffer.from(parts[0]!, "base64");
  if (salt.length !== 20) return false;
  const expected = createHmac("sha1", salt).update(name).digest("base64");
  return expected === parts[1];
}

/** Shell-style match of `text` against `pattern` where '*' is any run and '?' any one character. */
function globMatches(pattern: string, text: string): boolean {
  // Iterative backtracking to the last '*': linear-ish, no regex built from user input.
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === "?" || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === "*") {
      starP = p++;
      starT = t;
    } else if (starP !== -1) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}
