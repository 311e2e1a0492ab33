// Limits through the built server over stdio: nothing a client sends may hang it, take it down or
// make its replies unusable.
import { execFileSync } from "node:child_process";
import { copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../support/mcp.js";
import { keyHostArgs, startSshd, type TestSshd } from "../support/sshd.js";

let sshd: TestSshd;
const servers: TestServer[] = [];

/** A server on a fresh HOME; closed after each test. */
async function serve(env: Record<string, string> = {}): Promise<TestServer> {
  const server = await startServer({ env });
  servers.push(server);
  return server;
}

beforeAll(async () => {
  sshd = await startSshd();
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await sshd?.cleanup();
});

/** Resolves to what `promise` gave, or to "timed out" after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "timed out"> {
  return Promise.race([promise, new Promise<"timed out">((r) => setTimeout(() => r("timed out"), ms).unref())]);
}

describe("key files", () => {
  it("keeps answering while start-session calls meet a key file swapped for a FIFO", async () => {
    const srv = await serve();
    const key = join(srv.home, "id_swapped");
    copyFileSync(sshd.keyPath, key);
    await srv.ok("add-host", keyHostArgs(sshd, "k", { keyPath: key }));
    rmSync(key);
    execFileSync("mkfifo", [key]);
    // More than libuv's four pool threads: a blocking open on each would starve every file read.
    const starts = Array.from({ length: 6 }, () => srv.call("start-session", { host_id: "k" }));
    const results = await within(Promise.all(starts), 10_000);
    expect(results).not.toBe("timed out");
    for (const r of results as Awaited<(typeof starts)[number]>[]) expect(r.text).toMatch(/not a regular file/);
    const listed = await within(srv.call("list-hosts"), 5_000);
    expect(listed).toMatchObject({ isError: false });
  }, 30_000);
});
