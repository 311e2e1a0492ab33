import { createHash } from "node:crypto";

const SHA256_PREFIX = "SHA256:";

/** "SHA256:<base64 without '=' padding>" of the raw SSH public-key blob, as `ssh-keygen -lf` prints it. */
export function fingerprintSha256(keyBlob: Buffer): string {
  const digest = createHash("sha256").update(keyBlob).digest("base64");
  return SHA256_PREFIX + digest.replace(/=+$/, "");
}

/** The key type named inside an SSH public-key blob (first length-prefixed string), e.g. "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa". */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) throw new TypeError("Malformed SSH public-key blob: shorter than a length prefix");
  const length = keyBlob.readUInt32BE(0);
  if (length === 0 || 4 + length > keyBlob.length) {
    throw new TypeError(`Malformed SSH public-key blob: key type length ${length} does not fit in ${keyBlob.length} bytes`);
  }
  const type = keyBlob.subarray(4, 4 + length).toString("latin1");
  // Key type names are printable ASCII (RFC 4251 §6); anything else means this is not a key blob.
  if (!/^[\x21-\x7e]+$/.test(type)) throw new TypeError("Malformed SSH public-key blob: key type is not printable ASCII");
  return type;
}

/** Normalise a user-supplied pin: accepts "SHA256:abc" with or without trailing '=' padding (also tolerate surrounding whitespace); returns canonical "SHA256:abc" (no padding) or null if it is not a valid SHA256 fingerprint (43 base64 chars after stripping padding). */
export function normalizeFingerprint(input: string): string | null {
  const trimmed = input.trim();
  if (trimmed.slice(0, SHA256_PREFIX.length).toUpperCase() !== SHA256_PREFIX) return null;
  const body = trimmed.slice(SHA256_PREFIX.length);
  // A 32-byte digest is 43 base64 characters plus exactly one '=' of padding.
  const match = /^([A-Za-z0-9+/]{43})=?$/.exec(body);
  if (!match) return null;
  const chars = match[1]!;
  // The last character carries 2 unused bits; reject encodings that are not canonical.
  if (Buffer.from(chars, "base64").toString("base64") !== chars + "=") return null;
  return SHA256_PREFIX + chars;
}
