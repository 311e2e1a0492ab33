// The domain objects (store, trust, sessions) on a temp HOME, for integration tests without MCP.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRuntime, readConfig, type Runtime } from "../../src/lib.js";
import type { TestSshd } from "./sshd.js";

export interface TestRuntime extends Runtime {
  home: string;
  logs: string[];
  /** Save the sshd as host `hostId` with key auth (or the given fields). */
  addHost(hostId?: string, fields?: Record<string, unknown>): Promise<void>;
  dispose(): Promise<void>;
}

/** Where hosts added by addHost point: a test sshd, or any server and account with the test key. */
export type TestServer = Pick<TestSshd, "host" | "port" | "user" | "keyPath">;

export function testRuntime(sshd: TestServer, env: Record<string, string> = {}): TestRuntime {
  const home = mkdtempSync(join(tmpdir(), "ssh-mcp-home-"));
  const logs: string[] = [];
  const runtime = createRuntime(readConfig(env, home), (m) => logs.push(m));
  return {
    ...runtime,
    home,
    logs,
    async addHost(hostId = "test", fields = {}) {
      await runtime.store.add({ host_id: hostId, host: sshd.host, port: sshd.port, username: sshd.user, keyPath: sshd.keyPath, ...fields });
    },
    async dispose() {
      await runtime.sessions.closeAll();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
