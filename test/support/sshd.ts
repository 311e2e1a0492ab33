// A throwaway OpenSSH sshd on 127.0.0.1 and a free port, with keys generated into a temp dir.
// Never the system sshd, never port 22.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

export interface TestSshd {
  host: "127.0.0.1";
  port: number;
  dir: string;
  /** The user tests log in as (whoever runs the tests). */
  user: string;
  /** Unencrypted ed25519 client key, authorised for every user. */
  keyPath: string;
  /** Encrypted ed25519 client key and its passphrase. */
  encryptedKeyPath: string;
  passphrase: string;
  hostKeyPath: string;
  /** Everything sshd logged so far (LogLevel VERBOSE). */
  log(): string;
  pid(): number;
  /** Stop sshd (SIGTERM) and wait for it. */
  stop(): Promise<void>;
  /** Start again on the same port, optionally with a brand-new host key. */
  restart(options?: { newHostKey?: boolean }): Promise<void>;
  /** Remove the temp dir (after stop). */
  cleanup(): Promise<void>;
}

export const SSHD_PATH = ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/usr/bin/sshd"].find((p) => existsSync(p));

export function keygen(path: string, type = "ed25519", passphrase = "", comment = "ssh-mcp-test"): void {
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", passphrase, "-C", comment, "-f", path], { stdio: "ignore" });
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Start a private sshd. `extraConfig` lines are appended to its sshd_config (sshd keeps a keyword's first value). */
export async function startSshd(options: { extraConfig?: string[]; allowTcpForwarding?: boolean } = {}): Promise<TestSshd> {
  if (!SSHD_PATH) throw new Error("sshd not found: run `npm test` (its pretest step installs openssh-server) or apt-get install openssh-server");
  const dir = mkdtempSync(join(tmpdir(), "ssh-mcp-sshd-"));
  const hostKeyPath = join(dir, "ssh_host_ed25519_key");
  const keyPath = join(dir, "id_ed25519");
  const encryptedKeyPath = join(dir, "id_ed25519_encrypted");
  const passphrase = "correct horse " + randomBytes(4).toString("hex");
  keygen(hostKeyPath);
  keygen(keyPath);
  keygen(encryptedKeyPath, "ed25519", passphrase);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(keyPath + ".pub", "utf8") + readFileSync(encryptedKeyPath + ".pub", "utf8"));
  // sshd refuses to start as root without its privilege-separation directory.
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });

  let child: ChildProcess | undefined;
  let logText = "";
  let port = 0;

  const writeConfig = () =>
    writeFileSync(
      join(dir, "sshd_config"),
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKeyPath}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "PermitRootLogin yes",
        "AllowAgentForwarding yes",
        `AllowTcpForwarding ${options.allowTcpForwarding ? "yes" : "no"}`,
        "X11Forwarding no",
        "PrintMotd no",
        "UseDNS no",
        "MaxSessions 100",
        "MaxStartups 200",
        "LogLevel VERBOSE",
        ...(options.extraConfig ?? []),
        "",
      ].join("\n"),
    );

  const launch = async (): Promise<void> => {
    writeConfig();
    const proc = spawn(SSHD_PATH, ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        logText += chunk.toString();
        if (logText.includes(`Server listening on 127.0.0.1 port ${port}`)) {
          proc.stderr!.off("data", onData);
          proc.stderr!.on("data", (c: Buffer) => (logText += c.toString()));
          resolve();
        }
      };
      proc.stderr!.on("data", onData);
      proc.once("exit", (code) => reject(new Error(`sshd exited with ${code} before listening:\n${logText}`)));
    });
  };

  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      if (attempt >= 4) throw error;
    }
  }

  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once("exit", () => resolve());
      proc.kill("SIGTERM");
    });
  };

  return {
    host: "127.0.0.1",
    get port() {
      return port;
    },
    dir,
    user: userInfo().username,
    keyPath,
    encryptedKeyPath,
    passphrase,
    hostKeyPath,
    log: () => logText,
    pid: () => child!.pid!,
    stop,
    async restart({ newHostKey = false } = {}) {
      await stop();
      if (newHostKey) {
        rmSync(hostKeyPath, { force: true });
        rmSync(hostKeyPath + ".pub", { force: true });
        keygen(hostKeyPath);
      }
      await launch();
    },
    async cleanup() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

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
