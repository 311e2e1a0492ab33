import { isIPv4, isIPv6 } from "node:net";

// RFC 1035 limits; underscores are tolerated in labels, as OpenSSH and most resolvers do (_service names, old hosts).
const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
// A zone index (fe80::1%eth0) names a local interface; anything else after '%' is not an address.
const IPV6_WITH_ZONE = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9._-]+)?$/;
// known_hosts reads these as a pattern (* ?), a list (,), a negation (!), a hashed name (|) or a marker (@).
const PATTERN_CHARACTERS = /[*?!,|]/;

/** `host` as stored and connected to: an IPv6 literal given in brackets loses them, as OpenSSH strips them too. */
export function normalizeHostName(host: string): string {
  return host.length > 2 && host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * Why `host` is not one literal host (a DNS name, an IPv4 or an IPv6 address), phrased to follow
 * "host X", or null when it is. A literal is what makes a known_hosts line vouch for this host
 * only: anything else written there would be read back as a pattern for other hosts too.
 */
export function hostNameProblem(host: string): string | null {
  if (host === "") return "must not be empty";
  if (isIPv4(host) || (isIPv6(host) && IPV6_WITH_ZONE.test(host))) return null;
  if (/[\s\p{Cc}]/u.test(host)) return "must not contain whitespace or control characters";
  if (PATTERN_CHARACTERS.test(host) || host.startsWith("@")) {
    return "must be one host, not a pattern, a list or a marker (*, ?, !, commas, | and a leading @ are not allowed)";
  }
  if (host.includes("@")) return "must not include a user name: give that in username";
  if (host.startsWith("[") || host.endsWith("]")) return "must not be in brackets unless it is an IPv6 address";
  if (host.includes(":")) {
    return host.indexOf(":") === host.lastIndexOf(":")
      ? "must not include a port: give that in port"
      : "is not a valid IPv6 address";
  }
  if (/[^\x20-\x7e]/.test(host)) return "must be ASCII: give an international name in its xn-- (punycode) form";
  // One trailing dot marks a fully qualified name; it is still one host.
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  const labels = name.split(".");
  for (const label of labels) {
    if (label === "") return "must not have an empty label (a leading dot or two dots in a row)";
    if (label.length > MAX_LABEL_LENGTH) return `must not have a label longer than ${MAX_LABEL_LENGTH} characters`;
    if (!/^[A-Za-z0-9_-]+$/.test(label)) return "must contain only letters, digits, hyphens, underscores and dots";
    if (label.startsWith("-") || label.endsWith("-")) return "must not have a label that starts or ends with a hyphen";
  }
  // No top-level domain is all digits, so this was meant as an address (and resolvers would read "10.1" as one).
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return "is not a valid IPv4 address (four numbers from 0 to 255)";
  return null;
}
