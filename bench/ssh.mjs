// The baselines: OpenSSH's client (fresh per command, or multiplexed over a ControlMaster),
// and a bare ssh2 shell with nothing of ssh-mcp around it.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ssh2 from "ssh2";

const { Client } = ssh2;
const SSH_TIMEOUT_MS = 60_000;

/** Options that make `ssh` ignore the user's config, known_hosts and agent. */
function sshArgs(sshd, extra = []) {
  return [
    "-F", "/dev/null",
    "-i", sshd.keyPath,
    "-p", String(sshd.port),
    "-o", "IdentitiesOnly=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "BatchMode=yes",
    "-o", "LogLevel=ERROR",
    ...extra,
    `${sshd.user}@${sshd.host}`,
  ];
}

/** `scp` with the same options as sshArgs, multiplexed over the ControlMaster at `sock` (no new login). */
export function scpOverMaster(sshd, sock, from, to) {
  const remote = (path) => `${sshd.user}@${sshd.host}:${path}`;
  const args = [
    "-q", "-F", "/dev/null", "-i", sshd.keyPath, "-P", String(sshd.port),
    "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
    "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", `ControlPath=${sock}`, "-o", "ControlMaster=no",
    from.remote ? remote(from.path) : from.path,
    to.remote ? remote(to.path) : to.path,
  ];
  return run("scp", args);
}

/** Run a child to completion (bounded); resolves with its stdout byte count. */
function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let bytes = 0;
    let err = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), SSH_TIMEOUT_MS);
    child.stdout.on("data", (c) => (bytes += c.length));
    child.stderr.on("data", (c) => (err += c.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(bytes);
      else reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${err}`));
    });
  });
}

/** A fresh OpenSSH connection that runs one command. */
export const freshSsh = (sshd, command) => run("ssh", [...sshArgs(sshd), command]);

/** `ssh host '<cmd>' | wc -c`, through sh, as a user would type it; resolves with the count wc printed. */
export function sshPipedToWc(sshd, command) {
  const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
  const line = ["ssh", ...sshArgs(sshd), command].map(quote).join(" ") + " | wc -c";
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", line], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), SSH_TIMEOUT_MS);
    child.stdout.on("data", (c) => (out += c.toString()));
    child.stderr.on("data", (c) => (err += c.toString()));
    child.once("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(Number(out.trim()));
      else reject(new Error(`${line} exited ${code}: ${err}`));
    });
  });
}

/** An OpenSSH ControlMaster we own by pid; `run(cmd)` multiplexes a command over it. */
export async function startControlMaster(sshd) {
  const sock = join(sshd.dir, "cm.sock");
  const master = spawn("ssh", [...sshArgs(sshd, ["-M", "-S", sock, "-N", "-o", "ControlPersist=no"])], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  master.stderr.on("data", (c) => (err += c.toString()));
  for (let i = 0; i < 200 && !existsSync(sock); i++) {
    if (master.exitCode !== null) throw new Error(`ControlMaster exited ${master.exitCode}: ${err}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!existsSync(sock)) {
    master.kill("SIGTERM");
    throw new Error(`ControlMaster socket did not appear within 5 s: ${err}`);
  }
  const mux = ["-S", sock, "-o", "ControlMaster=no"];
  return {
    sock,
    run: (command) => run("ssh", [...sshArgs(sshd, mux), command]),
    async stop() {
      await run("ssh", [...sshArgs(sshd, ["-S", sock, "-O", "exit"])]).catch(() => undefined);
      await new Promise((resolve) => {
        if (master.exitCode !== null || master.signalCode !== null) return resolve();
        const timer = setTimeout(() => master.kill("SIGKILL"), 3000);
        master.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

/**
 * A bare ssh2 shell on the same key: `send(script)` writes a script followed by a marker line
 * and resolves when the marker comes back.
 */
export function rawShell(sshd) {
  const client = new Client();
  return new Promise((resolve, reject) => {
    client.once("error", reject);
    client.once("ready", () => {
      client.shell(false, (error, channel) => {
        if (error) return reject(error);
        channel.stderr.resume();
        let n = 0;
        let waiting;
        let seen = "";
        channel.on("data", (chunk) => {
          if (!waiting) return;
          seen = (seen + chunk.toString("latin1")).slice(-256);
          if (seen.includes(waiting.marker)) {
            const done = waiting.resolve;
            waiting = undefined;
            seen = "";
            done();
          }
        });
        resolve({
          /** One shell round trip: the script (by default `true`), then our marker. */
          send(script = "true") {
            const marker = `MARK${++n}\n`;
            return new Promise((res) => {
              waiting = { marker, resolve: res };
              channel.write(`${script}; printf '%s\\n' MARK${n}\n`);
            });
          },
          close() {
            channel.close();
            client.end();
          },
        });
      });
    });
    client.connect({
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      privateKey: readFileSync(sshd.keyPath),
      readyTimeout: 20_000,
    });
  });
}
