// A throwaway OpenSSH sshd on 127.0.0.1 and a free port, keys in a temp dir: the recipe of
// test/support/sshd.ts in plain JS, because node cannot import that TypeScript file.
// Never the system sshd, never port 22.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

const SSHD_PATH = ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/usr/bin/sshd"].find((p) => existsSync(p));
const LISTEN_TIMEOUT_MS = 10_000;

function keygen(path) {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ssh-mcp-bench", "-f", path], { stdio: "ignore" });
}

/** A TCP port on loopback that was free a moment ago (never 22: the kernel hands out ephemeral ports). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function launch(dir, port) {
  const config = join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "ssh_host_ed25519_key")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "StrictModes no",
      "UsePAM no",
      "PermitRootLogin yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PrintMotd no",
      "UseDNS no",
      "MaxSessions 200",
      "MaxStartups 300",
      // INFO, not ERROR: the "Server listening" line we wait for is logged at INFO.
      "LogLevel INFO",
      // The remote shells get an empty HOME, so the figures measure SSH and ssh-mcp rather than
      // whatever the account's ~/.bashrc or ~/.profile does at every shell start.
      `SetEnv HOME=${join(dir, "home")}`,
      "",
    ].join("\n"),
  );
  const proc = spawn(SSHD_PATH, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let log = "";
    const timer = setTimeout(() => {
      proc.kill("SIGTERM");
      reject(new Error(`sshd did not listen within ${LISTEN_TIMEOUT_MS} ms:\n${log}`));
    }, LISTEN_TIMEOUT_MS);
    const onData = (chunk) => {
      log += chunk.toString();
      if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) {
        clearTimeout(timer);
        proc.stderr.off("data", onData);
        proc.stderr.resume(); // keep draining; per-connection INFO lines are not needed
        resolve(proc);
      }
    };
    proc.stderr.on("data", onData);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited with ${code} before listening:\n${log}`));
    });
  });
}

/** Start a private sshd; resolves once it listens. */
export async function startSshd() {
  if (!SSHD_PATH) throw new Error("sshd not found: `npm run bench` runs scripts/ensure-test-servers.mjs, which installs or explains it");
  const dir = mkdtempSync(join(tmpdir(), "ssh-mcp-bench-"));
  const keyPath = join(dir, "id_ed25519");
  keygen(join(dir, "ssh_host_ed25519_key"));
  keygen(keyPath);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(keyPath + ".pub", "utf8"));
  mkdirSync(join(dir, "home"));
  // sshd refuses to start as root without its privilege-separation directory.
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });

  let proc;
  let port = 0;
  for (let attempt = 0; !proc; attempt++) {
    port = await freePort();
    try {
      proc = await launch(dir, port);
    } catch (error) {
      if (attempt >= 4) throw error;
    }
  }

  const stop = () =>
    new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once("exit", () => resolve());
      proc.kill("SIGTERM");
    });

  return {
    host: "127.0.0.1",
    port,
    dir,
    user: userInfo().username,
    keyPath,
    pid: proc.pid,
    async cleanup() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
