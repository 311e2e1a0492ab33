// A throwaway Dropbear server on 127.0.0.1 and a free port, with a generated host key.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./sshd.js";

export interface TestDropbear {
  host: "127.0.0.1";
  port: number;
  log(): string;
  cleanup(): Promise<void>;
}

const DROPBEAR_PATH = ["/usr/sbin/dropbear", "/usr/bin/dropbear"].find((p) => existsSync(p));

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Start Dropbear; accounts log in with the keys in their own ~/.ssh/authorized_keys. */
export async function startDropbear(): Promise<TestDropbear> {
  if (!DROPBEAR_PATH) throw new Error("dropbear not found: run `npm test` (its pretest step installs dropbear-bin) or apt-get install dropbear-bin");
  const dir = mkdtempSync(join(tmpdir(), "ssh-mcp-dropbear-"));
  const hostKey = join(dir, "dropbear_ed25519_host_key");
  execFileSync("dropbearkey", ["-t", "ed25519", "-f", hostKey], { stdio: "ignore" });
  let logText = "";
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    // -F foreground, -E log to stderr, -s no passwords, -j -k no forwarding.
    child = spawn(DROPBEAR_PATH, ["-F", "-E", "-s", "-j", "-k", "-p", `127.0.0.1:${port}`, "-r", hostKey, "-P", join(dir, "pid")], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr!.on("data", (chunk: Buffer) => (logText += chunk.toString()));
    const exited = new Promise<false>((resolve) => child!.once("exit", () => resolve(false)));
    let up = false;
    for (let i = 0; i < 100 && !up && child.exitCode === null; i++) {
      up = await Promise.race([accepts(port), exited]);
      if (!up) await new Promise((r) => setTimeout(r, 50));
    }
    if (up) break;
    child.kill("SIGKILL");
    if (attempt >= 4) throw new Error(`dropbear did not start:\n${logText}`);
  }
  return {
    host: "127.0.0.1",
    port,
    log: () => logText,
    async cleanup() {
      const proc = child!;
      if (proc.exitCode === null && proc.signalCode === null) {
        await new Promise<void>((resolve) => {
          proc.once("exit", () => resolve());
          proc.kill("SIGTERM");
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
