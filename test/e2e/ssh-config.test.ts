import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../support/mcp.js";

let home: string;
let server: TestServer;
const CONFIG = ["Host alpha beta", "  HostName 127.0.0.1", "  Port 1", "  Compression yes", "Match host x", "  User y", "Host *.lan", "  User lan", ""].join("\n");

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "ssh-mcp-home-"));
  mkdirSync(join(home, ".ssh"), { mode: 0o700 });
  writeFileSync(join(home, ".ssh", "config"), CONFIG);
  server = await startServer({ home });
  await server.ok("add-host", { host_id: "beta", host: "192.0.2.1", username: "saved" });
});
afterAll(async () => {
  await server?.close();
  rmSync(home, { recursive: true, force: true });
});

describe("list-hosts with ~/.ssh/config", () => {
  it("shows concrete aliases marked as from ssh config, in text and structured content; a saved host shadows its alias", async () => {
    const result = await server.call("list-hosts");
    expect(result.isError).toBe(false);
    const lines = result.text.split("\n");
    expect(lines).toContain(`alpha\t${userInfo().username}@127.0.0.1:1\tauth=agent\tfrom ssh config (${join(home, ".ssh", "config")})`);
    expect(lines.filter((l) => l.startsWith("beta\t"))).toEqual(["beta\tsaved@192.0.2.1:22\tauth=agent"]);
    expect(result.text).not.toContain("*.lan");
    const hosts = (result.structured as { hosts: Array<Record<string, unknown>> }).hosts;
    expect(hosts.map((h) => [h.host_id, h.source])).toEqual([
      ["beta", "hosts.json"],
      ["alpha", "ssh-config"],
    ]);
  });
});

describe("edit-host and remove-host on an ssh config host", () => {
  it("refuses both with a clear error and leaves ~/.ssh/config as it was", async () => {
    for (const [tool, args] of [
      ["edit-host", { host_id: "alpha", port: 22 }],
      ["remove-host", { host_id: "alpha" }],
    ] as const) {
      const result = await server.call(tool, args);
      expect(result.isError).toBe(true);
      expect(result.text).toMatch(/Host 'alpha' comes from .*config, which belongs to you: ssh-mcp never writes it/);
    }
    expect(readFileSync(join(home, ".ssh", "config"), "utf8")).toBe(CONFIG);
  });
});

describe("options ssh-mcp does not support", () => {
  it("are named in one line on stderr, never an error of their own", async () => {
    const result = await server.call("start-session", { host_id: "alpha" });
    // The failure is about credentials (this HOME has no keys and no agent), not about the config.
    expect(result.text).toMatch(/no usable IdentityFile/);
    expect(server.stderr()).toMatch(/host 'alpha': ignoring Compression, Match \(not supported by ssh-mcp\)/);
  });
});
