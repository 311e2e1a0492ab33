import { describe, expect, it } from "vitest";
import { hostNameProblem, normalizeHostName } from "../../src/hosts/host-name.js";

describe("hostNameProblem", () => {
  it.each([
    "web",
    "db.example.com",
    "db.example.com.",
    "_ldap._tcp.example.com",
    "my_host",
    "xn--bcher-kva.example",
    "a1-b2.c3",
    "x".repeat(63) + ".example",
    "10.0.0.5",
    "255.255.255.255",
    "::1",
    "2001:db8::1",
    "FE80::A",
    "fe80::1%eth0",
    "::ffff:10.0.0.1",
  ])("accepts %s as one host", (host) => {
    expect(hostNameProblem(host)).toBeNull();
  });

  it.each<[string, string, RegExp]>([
    ["a wildcard", "*", /not a pattern/],
    ["a wildcard domain", "*.example.com", /not a pattern/],
    ["a single-character wildcard", "web?", /not a pattern/],
    ["a list", "web,db", /not a pattern, a list/],
    ["a negation", "!web", /not a pattern/],
    ["a hashed known_hosts name", "|1|c2FsdA==|aGFzaA==", /not a pattern/],
    ["a known_hosts marker", "@revoked", /not a pattern, a list or a marker/],
    ["user@host", "root@web", /user name: give that in username/],
    ["host:port", "web:2222", /port: give that in port/],
    ["a bracketed name with a port", "[web]:2222", /brackets/],
    ["a bracketed IPv4 address", "[10.0.0.1]", /brackets/],
    ["a broken IPv6 address", "1::2::3", /not a valid IPv6/],
    ["an IPv6 zone with a pattern", "fe80::1%*", /not a pattern/],
    ["an IPv4 address out of range", "10.0.0.256", /not a valid IPv4/],
    ["a short numeric address", "10.1", /not a valid IPv4/],
    ["a leading hyphen (an ssh option)", "-oProxyCommand=x", /letters, digits/],
    ["a label ending in a hyphen", "web-.example.com", /hyphen/],
    ["an empty label", "web..example.com", /empty label/],
    ["a leading dot", ".example.com", /empty label/],
    ["a label of 64 characters", "x".repeat(64) + ".example", /63/],
    ["a name of 254 characters", Array.from({ length: 51 }, () => "abcd").join(".").slice(0, 254), /253/],
    ["a non-ASCII name", "bücher.example", /xn--/],
    ["a slash", "web/1", /letters, digits/],
    ["a space", "web 1", /whitespace/],
    ["a newline", "web\n* ssh-ed25519 AAAA", /whitespace/],
    ["an empty string", "", /empty/],
  ])("refuses %s", (_name, host, why) => {
    expect(hostNameProblem(host)).toMatch(why);
  });
});

describe("normalizeHostName", () => {
  it("drops the brackets around an IPv6 address and leaves everything else alone", () => {
    expect(normalizeHostName("[2001:db8::1]")).toBe("2001:db8::1");
    expect(normalizeHostName("2001:db8::1")).toBe("2001:db8::1");
    expect(normalizeHostName("web")).toBe("web");
    expect(normalizeHostName("[]")).toBe("[]");
  });
});
