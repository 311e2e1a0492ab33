// Throwaway SSH servers on 127.0.0.1 and free ports, with keys generated into temp dirs: OpenSSH
// sshd and Dropbear. Plain JavaScript, so the tests and bench/ share one starter (types in
// servers.d.mts). Never the system servers, never port 22.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

export const SSHD_PATH = ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/usr/bin/sshd"].find((p) => existsSync(p));
const DROPBEAR_PATH = ["/usr/sbin/dropbear", "/usr/bin/dropbear"].find((p) => existsSync(p));
/** OpenSSH's SFTP server (Debian: openssh-sftp-server, installed with openssh-server). */
export const SFTP_SERVER_PATH = ["/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/libexec/sftp-server"].find((p) =>
  existsSync(p),
);
/** Where Debian's Dropbear looks for sftp-server (compiled in). */
const DROPBEAR_SFTP_PATH = "/usr/lib/sftp-server";
const MISSING = "run `npm test` (its pretest step, scripts/ensure-test-servers.mjs, installs it)";
const LISTEN_TIMEOUT_MS = 10_000;

export function keygen(path, type = "ed25519", passphrase = "", comment = "ssh-mcp-test") {
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", passphrase, "-C", comment, "-f", path], { stdio: "ignore" });
}

/** A TCP port on loopback that was free a moment ago (never 22: the kernel hands out ephemeral ports). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Try `launch` on fresh free ports: another process may take a port between the check and the bind. */
async function onAFreePort(launch) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      return await launch(port);
    } catch (error) {
      if (attempt >= 4) throw error;
    }
  }
}

/** Wait until `child` no longer runs. */
function stopped(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/**
 * Start a private sshd. Options: `extraConfig` lines appended (sshd keeps a keyword's first
 * value, so they only add), `allowTcpForwarding`, `bench` (no passwords, INFO logging, room for
 * hundreds of sessions, and an empty HOME so no login script takes part in the figures),
 * `sftp: false` (no SFTP subsystem; by default OpenSSH's sftp-server serves it).
 */
export async function startSshd(options = {}) {
  if (!SSHD_PATH) throw new Error(`sshd not found: ${MISSING} or apt-get install openssh-server`);
  const dir = mkdtempSync(join(tmpdir(), "ssh-mcp-sshd-"));
  const hostKeyPath = join(dir, "ssh_host_ed25519_key");
  const keyPath = join(dir, "id_ed25519");
  const encryptedKeyPath = join(dir, "id_ed25519_encrypted");
  const passphrase = "correct horse " + randomBytes(4).toString("hex");
  keygen(hostKeyPath);
  keygen(keyPath);
  keygen(encryptedKeyPath, "ed25519", passphrase);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(keyPath + ".pub", "utf8") + readFileSync(encryptedKeyPath + ".pub", "utf8"));
  if (options.bench) mkdirSync(join(dir, "home"));
  // sshd refuses to start as root without its privilege-separation directory.
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });

  let child;
  let logText = "";
  let port = 0;
  const config = () =>
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKeyPath}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "StrictModes no",
      "UsePAM no",
      `PasswordAuthentication ${options.bench ? "no" : "yes"}`,
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin yes",
      "AllowAgentForwarding yes",
      `AllowTcpForwarding ${options.allowTcpForwarding ? "yes" : "no"}`,
      "X11Forwarding no",
      "PrintMotd no",
      "UseDNS no",
      `MaxSessions ${options.bench ? 200 : 100}`,
      `MaxStartups ${options.bench ? 300 : 200}`,
      // INFO at least: the "Server listening" line waited for is logged at INFO.
      `LogLevel ${options.bench ? "INFO" : "VERBOSE"}`,
      ...(options.bench ? [`SetEnv HOME=${join(dir, "home")}`] : []),
      ...(options.sftp !== false && SFTP_SERVER_PATH ? [`Subsystem sftp ${SFTP_SERVER_PATH}`] : []),
      ...(options.extraConfig ?? []),
      "",
    ].join("\n");

  const launch = () =>
    new Promise((resolve, reject) => {
      writeFileSync(join(dir, "sshd_config"), config());
      const proc = spawn(SSHD_PATH, ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
      child = proc;
      const timer = setTimeout(() => {
        proc.kill("SIGTERM");
        reject(new Error(`sshd did not listen within ${LISTEN_TIMEOUT_MS} ms:\n${logText}`));
      }, LISTEN_TIMEOUT_MS);
      proc.stderr.on("data", (chunk) => {
        logText += chunk.toString();
        if (logText.includes(`Server listening on 127.0.0.1 port ${port}`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd exited with ${code} before listening:\n${logText}`));
      });
    });

  await onAFreePort((p) => {
    port = p;
    return launch();
  });

  const stop = () => stopped(child);
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
    pid: () => child.pid,
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

function accepts(port) {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Start Dropbear; accounts log in with the keys in their own ~/.ssh/authorized_keys. Dropbear
 * serves SFTP when sftp-server is installed where it was built to look; `sftp: false` hides it
 * (an empty file bind-mounted over it in a private mount namespace, so only this Dropbear sees
 * that), as on hosts without sftp-server. That needs root and unshare(1).
 */
export async function startDropbear(options = {}) {
  if (!DROPBEAR_PATH) throw new Error(`dropbear not found: ${MISSING} or apt-get install dropbear-bin`);
  const dir = mkdtempSync(join(tmpdir(), "ssh-mcp-dropbear-"));
  const hostKey = join(dir, "dropbear_ed25519_host_key");
  execFileSync("dropbearkey", ["-t", "ed25519", "-f", hostKey], { stdio: "ignore" });
  let logText = "";
  const emptyFile = join(dir, "no-sftp-server");
  writeFileSync(emptyFile, "");
  const { child, port } = await onAFreePort(async (port) => {
    // -F foreground, -E log to stderr, -s no passwords, -j -k no forwarding.
    const args = ["-F", "-E", "-s", "-j", "-k", "-p", `127.0.0.1:${port}`, "-r", hostKey, "-P", join(dir, "pid")];
    const [command, argv] =
      options.sftp === false
        ? ["unshare", ["-m", "--propagation", "private", "sh", "-c", 'mount --bind "$1" "$2" || exit 1; shift 2; exec "$@"', "sh", emptyFile, DROPBEAR_SFTP_PATH, DROPBEAR_PATH, ...args]]
        : [DROPBEAR_PATH, args];
    const child = spawn(command, argv, { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr.on("data", (chunk) => (logText += chunk.toString()));
    const exited = new Promise((resolve) => child.once("exit", () => resolve(false)));
    // Dropbear says nothing when it listens: try to connect until it accepts.
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      if (await Promise.race([accepts(port), exited])) return { child, port };
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    throw new Error(`dropbear did not start:\n${logText}`);
  });
  return {
    host: "127.0.0.1",
    port,
    log: () => logText,
    async cleanup() {
      await stopped(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
