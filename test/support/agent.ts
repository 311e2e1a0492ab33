// A private ssh-agent holding one key, for agent auth and forwarding tests.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export interface TestAgent {
  socket: string;
  stop(): void;
}

/** Start `ssh-agent -D` on a socket in `dir` and add `keyPath` to it. */
export async function startAgent(dir: string, keyPath: string): Promise<TestAgent> {
  const socket = join(dir, `agent.${process.pid}.${Date.now()}.sock`);
  const proc = spawn("ssh-agent", ["-D", "-a", socket], { stdio: ["ignore", "pipe", "pipe"] });
  // ssh-agent prints its environment lines once the socket is bound.
  await new Promise<void>((resolve, reject) => {
    proc.stdout.once("data", () => resolve());
    proc.once("exit", (code) => reject(new Error(`ssh-agent exited with ${code}`)));
  });
  if (!existsSync(socket)) throw new Error(`ssh-agent did not create ${socket}`);
  execFileSync("ssh-add", ["-q", keyPath], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: "ignore" });
  return { socket, stop: () => proc.kill() };
}
