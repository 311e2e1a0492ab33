import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionError, InvalidHostError } from "../../src/lib.js";
import { testRuntime, type TestRuntime } from "../support/runtime.js";
import { keyHostArgs, startSshd, type TestSshd } from "../support/sshd.js";

let bastion: TestSshd; // allows TCP forwarding
let closed: TestSshd; // does not
let inner: TestSshd;
let rt: TestRuntime;

beforeAll(async () => {
  [bastion, closed, inner] = await Promise.all([startSshd({ allowTcpForwarding: true }), startSshd(), startSshd()]);
  rt = testRuntime(bastion);
  await rt.store.add(keyHostArgs(bastion, "bastion"));
  await rt.store.add(keyHostArgs(closed, "closed-bastion"));
  await rt.store.add(keyHostArgs(inner, "inner", { proxyJump: "bastion" }));
  await rt.store.add(keyHostArgs(inner, "inner-via-closed", { proxyJump: "closed-bastion" }));
});
afterAll(async () => {
  await rt?.dispose();
  await Promise.all([bastion, closed, inner].map((s) => s?.cleanup()));
});

/** sshd's per-connection processes: one more for every connection it serves. */
const connectionsTo = (sshd: TestSshd) =>
  promisify(execFile)("pgrep", ["-P", String(sshd.pid())]).then(
    (r) => r.stdout.trim().split("\n").filter(Boolean).length,
    () => 0,
  );

describe("proxyJump", () => {
  it("reaches a host through a jump host, verifying both host keys", async () => {
    const { sessionId } = await rt.sessions.start("inner");
    expect((await rt.sessions.exec(sessionId, "cd /tmp; echo hop")).output).toBe("hop\n");
    expect((await rt.sessions.exec(sessionId, "pwd")).output).toBe("/tmp\n");
    const known = readFileSync(join(rt.home, ".ssh-mcp", "known_hosts"), "utf8");
    expect(known).toContain(`[127.0.0.1]:${bastion.port} ssh-ed25519 `);
    expect(known).toContain(`[127.0.0.1]:${inner.port} ssh-ed25519 `);
    await rt.sessions.close(sessionId);
  });

  it("really goes through the jump host: one that refuses forwarding makes the start fail, naming it", async () => {
    const error = await rt.sessions.start("inner-via-closed").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/Jump host 'closed-bastion' .* could not open a connection to 127\.0\.0\.1:\d+.*AllowTcpForwarding/);
    expect(rt.sessions.list()).toEqual([]);
  });

  it("closes the jump connection with the session", async () => {
    const before = await connectionsTo(bastion);
    const { sessionId } = await rt.sessions.start("inner");
    expect(await connectionsTo(bastion)).toBeGreaterThan(before);
    await rt.sessions.close(sessionId);
    // sshd reaps its per-connection process shortly after the client leaves; no event tells us when.
    for (let i = 0; i < 50 && (await connectionsTo(bastion)) > before; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await connectionsTo(bastion)).toBe(before);
  });
});

describe("proxyJump in the host store", () => {
  it("refuses a jump host that is not saved, and a chain that loops, changing nothing", async () => {
    const file = join(rt.home, ".ssh-mcp", "hosts.json");
    const before = readFileSync(file, "utf8");
    await expect(rt.store.add(keyHostArgs(inner, "x", { proxyJump: "nowhere" }))).rejects.toThrow(/No host 'nowhere' to jump through/);
    await expect(rt.store.edit("bastion", { proxyJump: "inner" })).rejects.toThrow(/proxyJump would loop: bastion -> inner -> bastion/);
    await expect(rt.store.edit("inner", { proxyJump: "inner" })).rejects.toThrow(InvalidHostError);
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("keeps a jump host that others use from being removed, until they stop using it", async () => {
    await expect(rt.store.remove("closed-bastion")).rejects.toThrow(/proxyJump of inner-via-closed/);
    await rt.store.edit("inner-via-closed", { proxyJump: "" });
    expect((await rt.store.get("inner-via-closed")).proxyJump).toBeUndefined();
    await rt.store.remove("closed-bastion");
  });
});
