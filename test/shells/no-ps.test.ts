// Hosts without procps `ps` (Debian slim images) or with a minimal busybox one (Alpine and other
// busybox systems, whose `ps` may take no options at all): an interrupt must still stop the
// command. sshd's SetEnv gives the side channel that does the stopping a PATH with no `ps`, or
// with one that refuses every option as a minimal busybox build does.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandTimeoutError } from "../../src/lib.js";
import { testRuntime, type TestRuntime } from "../support/runtime.js";
import { startSshd, type TestSshd } from "../support/sshd.js";
import { listSleeps } from "./matrix.js";

/** A busybox `ps` built without options: a plain process table, and an error for any option. */
const MINIMAL_PS = '#!/bin/sh\n[ $# -eq 0 ] || { echo "ps: invalid option -- $1" >&2; exit 1; }\nexec busybox ps\n';

/** A directory with every command of /usr/bin and /bin except `ps`, plus `ps` as given. */
function pathWithout(dir: string, ps: string | undefined): string {
  mkdirSync(dir);
  for (const from of ["/usr/bin", "/bin"]) {
    for (const name of readdirSync(from)) {
      const link = join(dir, name);
      if (name !== "ps" && !existsSync(link)) symlinkSync(join(from, name), link);
    }
  }
  if (ps) writeFileSync(join(dir, "ps"), ps, { mode: 0o755 });
  return dir;
}

describe.each([
  ["no ps at all", undefined, 6101],
  ["a minimal busybox ps", MINIMAL_PS, 6102],
] as const)("a host with %s", (_, ps, seconds) => {
  let sshd: TestSshd;
  let rt: TestRuntime;
  let bin: string;

  beforeAll(async () => {
    bin = pathWithout(join(mkdtempSync(join(tmpdir(), "ssh-mcp-path-")), "bin"), ps);
    sshd = await startSshd({ extraConfig: [`SetEnv PATH=${bin}`] });
    rt = testRuntime(sshd, { SSH_MCP_EXEC_TIMEOUT_MS: "20000" });
    await rt.addHost();
  });
  afterAll(async () => {
    await rt?.dispose();
    await sshd?.cleanup();
    rmSync(join(bin, ".."), { recursive: true, force: true });
  });

  it("still stops a timed-out command and keeps the session", async () => {
    expect(existsSync(join(bin, "ps"))).toBe(ps !== undefined);
    const { sessionId } = await rt.sessions.start("test");
    const error = await rt.sessions.exec(sessionId, `sleep ${seconds} | cat; echo never`, { timeoutMs: 700 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect((error as CommandTimeoutError).sessionKept).toBe(true);
    expect(listSleeps()).not.toContain(String(seconds));
    expect((await rt.sessions.exec(sessionId, "printf ok")).output).toBe("ok");
  });
});
