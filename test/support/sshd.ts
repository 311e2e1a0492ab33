// The throwaway sshd (started by servers.mjs, which bench/ shares) and helpers around it.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { TestSshd } from "./servers.mjs";

export { freePort, keygen, SSHD_PATH, startSshd, type TestSshd } from "./servers.mjs";

/** A throwaway local user with a password, for password auth. Only possible as root. */
export function createPasswordUser(): { username: string; password: string; remove(): void } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const username = `sshmcp${randomBytes(3).toString("hex")}`;
  const password = `pw-${randomBytes(9).toString("base64url")}`;
  execFileSync("useradd", ["-m", "-s", "/bin/sh", username], { stdio: "ignore" });
  execFileSync("chpasswd", [], { input: `${username}:${password}\n` });
  return {
    username,
    password,
    remove: () => {
      try {
        execFileSync("userdel", ["-r", "-f", username], { stdio: "ignore" });
      } catch {
        // already gone
      }
    },
  };
}

/** The SHA256 fingerprint of a public key file, as ssh-keygen prints it. */
export function fingerprintOf(pubPath: string): string {
  return execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", pubPath], { encoding: "utf8" }).split(" ")[1]!;
}

/** add-host arguments for this sshd with key auth. */
export function keyHostArgs(sshd: TestSshd, hostId: string, extra: Record<string, unknown> = {}) {
  return { host_id: hostId, host: sshd.host, port: sshd.port, username: sshd.user, keyPath: sshd.keyPath, ...extra };
}

/** "<type> <base64>" of a .pub file, without its comment. */
export function publicKeyOf(pubPath: string): string {
  const [type, base64] = readFileSync(pubPath, "utf8").trim().split(" ");
  return `${type} ${base64}`;
}
