// hosts.json with thousands of hosts: adding one stays cheap, errors stay short, and there is a ceiling.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostNotFoundError, InvalidHostError } from "../../src/hosts/host-errors.js";
import { HostStore } from "../../src/hosts/host-store.js";
import { appendToHostsFile, formatHostsFile } from "../../src/hosts/hosts-file.js";
import { SessionNotFoundError } from "../../src/session/session-errors.js";

// On tmpfs fsync costs nothing, so the timings below are ssh-mcp's own work, not the disk's.
const SCRATCH = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
let home: string;

beforeEach(async () => {
  home = await mkdtemp(join(SCRATCH, "ssh-mcp-scale-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/** A store whose hosts.json already holds `count` hosts, written directly (adding them one by one takes minutes). */
async function storeWith(count: number, name = "s", proxyJump?: (i: number) => string | undefined): Promise<HostStore> {
  const dir = join(home, name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const hosts = Array.from({ length: count }, (_, i) => ({
    host_id: `h${i}`,
    host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 22,
    username: "deploy",
    password: "pw",
    ...(proxyJump?.(i) !== undefined && { proxyJump: proxyJump(i) }),
  }));
  await writeFile(join(dir, "hosts.json"), formatHostsFile(hosts), { mode: 0o600 });
  return new HostStore({ dir, homeDir: home, warn: () => undefined });
}

/** Median milliseconds of one add to each store, adding to them in turn so that a busy machine slows both alike. */
async function addCosts(stores: HostStore[], rounds: number): Promise<number[]> {
  // The first add parses the file; after that, nothing should need doing for the hosts already there.
  for (const store of stores) await store.add({ host_id: "first", host: "10.9.9.9", username: "u" });
  const times = stores.map((): number[] => []);
  for (let i = 0; i < rounds; i++) {
    for (const [s, store] of stores.entries()) {
      const started = performance.now();
      await store.add({ host_id: `new${i}`, host: "10.9.9.9", username: "u" });
      times[s]!.push(performance.now() - started);
    }
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(rounds / 2)]!);
}

describe("many hosts", () => {
  it("adds the 10,000th host for not much more work than the 100th", async () => {
    await addCosts([await storeWith(59, "warm")], 40); // let the JIT settle first
    const [small, large] = await addCosts([await storeWith(59), await storeWith(9_959, "large")], 40);
    // About 7 here (it was about 35 when every add parsed, validated and formatted all hosts again):
    // what remains is reading, comparing and writing a 100 times bigger file, which an atomic rewrite needs.
    expect(large / small).toBeLessThan(16);
  }, 120_000);

  it("refuses a host beyond 10,000, saying what to do, and leaves hosts.json unchanged", async () => {
    const store = await storeWith(10_000);
    const file = join(home, "s", "hosts.json");
    const before = await readFile(file, "utf8");
    await expect(store.add({ host_id: "one-more", host: "10.9.9.9", username: "u" })).rejects.toThrow(
      /already holds 10000 hosts.*remove-host/,
    );
    expect(await readFile(file, "utf8")).toBe(before);
  }, 30_000);

  it("names at most 20 known hosts when a host_id is unknown", async () => {
    const store = await storeWith(10_000);
    const error = await store.get("nope").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostNotFoundError);
    const message = (error as Error).message;
    expect(message).toMatch(/^No host 'nope'\. Known hosts: h0, h1, .*h19 and 9980 more; see list-hosts\. Add it with add-host\.$/);
    expect(message.length).toBeLessThan(500);
  }, 30_000);

  it("names at most 20 hosts that jump through one being removed", async () => {
    const store = await storeWith(1_000, "s", (i) => (i === 0 ? undefined : "h0"));
    const error = await store.remove("h0").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidHostError);
    expect((error as Error).message).toMatch(/is the proxyJump of h1, h2, .*h20 and 979 more; see list-hosts\./);
    expect((error as Error).message.length).toBeLessThan(500);
  });

  it("shows only the ends of a long proxyJump loop", async () => {
    const store = await storeWith(1_000, "s", (i) => (i === 999 ? undefined : `h${i + 1}`));
    const error = await store.edit("h999", { proxyJump: "h0" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidHostError);
    expect((error as Error).message).toMatch(/proxyJump would loop: h999 -> h0 -> .* -> \.\.\. \(981 more\) -> .* -> h999\./);
    expect((error as Error).message.length).toBeLessThan(500);
  });

  it("names at most 20 live sessions when a session id is unknown", () => {
    const ids = Array.from({ length: 50 }, (_, i) => `s${i}`);
    expect(new SessionNotFoundError("nope", ids).message).toBe(
      `No session 'nope'. Live sessions: ${ids.slice(0, 20).join(", ")} and 30 more; see list-sessions. Start a new one with start-session.`,
    );
  });

  it("appends a host to the file text exactly as formatting them all would", () => {
    const hosts = [
      { host_id: "a", host: "h", port: 22, username: "u" },
      { host_id: "ü\"\\", host: "h", port: 2, username: "u", password: "p\nw\u2028", agentForward: false, proxyJump: "a" },
    ];
    expect(appendToHostsFile(formatHostsFile([]), hosts[0]!)).toBe(formatHostsFile(hosts.slice(0, 1)));
    expect(appendToHostsFile(formatHostsFile(hosts.slice(0, 1)), hosts[1]!)).toBe(formatHostsFile(hosts));
  });
});
