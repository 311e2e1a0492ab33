import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FilePermissionError, SftpUnavailableError } from "../../src/files/file-errors.js";
import { startDropbear, type TestDropbear } from "../support/servers.mjs";
import { createShellAccounts } from "../support/shell-accounts.js";
import { testRuntime, type TestRuntime } from "../support/runtime.js";
import { createPasswordUser, startSshd, type TestSshd } from "../support/sshd.js";

// Logins other than root (so permissions apply), and servers without an SFTP subsystem.
const asRoot = process.getuid?.() === 0;

describe.skipIf(!asRoot)("permissions, as a user who is not root", () => {
  let sshd: TestSshd;
  let rt: TestRuntime;
  let user: NonNullable<ReturnType<typeof createPasswordUser>>;
  let dir: string;
  let id: string;

  beforeAll(async () => {
    sshd = await startSshd();
    user = createPasswordUser()!;
    rt = testRuntime(sshd);
    await rt.addHost("plain", { username: user.username, password: user.password, keyPath: undefined });
    id = (await rt.sessions.start("plain")).sessionId;
    dir = mkdtempSync(join(tmpdir(), "ssh-mcp-perm-"));
    chmodSync(dir, 0o755); // root's: the user may look, not create
  });
  afterAll(async () => {
    await rt?.dispose();
    await sshd?.cleanup();
    user?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const files = () => rt.sessions.files(id);

  it("says permission denied, naming the path, for a file the login cannot read", async () => {
    writeFileSync(join(dir, "secret"), "root only\n", { mode: 0o600 });
    const error = await files().read(join(dir, "secret")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FilePermissionError);
    expect((error as Error).message).toBe(`Permission denied on the host: the session's user cannot read ${join(dir, "secret")}.`);
    await expect(files().download(join(dir, "secret"), join(dir, "copy"))).rejects.toThrow(FilePermissionError);
  });

  it("refuses to write where the login cannot create files, leaving nothing behind", async () => {
    await expect(files().write(join(dir, "new.txt"), "x")).rejects.toThrow(`cannot create files in ${dir}`);
    writeFileSync(join(dir, "local.txt"), "up\n");
    await expect(files().upload(join(dir, "local.txt"), join(dir, "up.txt"))).rejects.toThrow(FilePermissionError);
    expect(readdirSync(dir).sort()).toEqual(["local.txt", "secret"]);
  });

  it("does not replace a file the login may not write, even in a directory it owns", async () => {
    const home = join(dir, "home");
    mkdirSync(home, { mode: 0o755 });
    writeFileSync(join(home, "root-owned.conf"), "keep\n", { mode: 0o644 });
    // The user owns the directory, so a rename would succeed: the file's own permission must decide.
    chownSync(home, Number(execFileSync("id", ["-u", user.username], { encoding: "utf8" })), 0);
    await expect(files().write(join(home, "root-owned.conf"), "changed\n")).rejects.toThrow(/Permission denied.*cannot write/);
    await expect(files().edit(join(home, "root-owned.conf"), "keep", "changed")).rejects.toThrow(FilePermissionError);
    expect(readFileSync(join(home, "root-owned.conf"), "utf8")).toBe("keep\n");
    // Its own new file there is fine.
    await files().write(join(home, "mine.conf"), "mine\n");
    expect(readFileSync(join(home, "mine.conf"), "utf8")).toBe("mine\n");
  });
});

describe("hosts without an SFTP subsystem", () => {
  it("OpenSSH without `Subsystem sftp`: a clear error, and exec still works", async () => {
    const sshd = await startSshd({ sftp: false });
    const rt = testRuntime(sshd);
    try {
      await rt.addHost();
      const { sessionId } = await rt.sessions.start("test");
      const error = await rt.sessions.files(sessionId).read("/etc/hostname").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SftpUnavailableError);
      expect((error as Error).message).toMatch(/has no SFTP subsystem.*use exec/s);
      expect((await rt.sessions.exec(sessionId, "echo still here")).output).toBe("still here\n");
    } finally {
      await rt.dispose();
      await sshd.cleanup();
    }
  });

  describe.skipIf(!asRoot)("Dropbear", () => {
    let keySource: TestSshd;
    let accounts: ReturnType<typeof createShellAccounts>;
    beforeAll(async () => {
      // Only for its client key pair: Dropbear reads the account's own authorized_keys.
      keySource = await startSshd();
      accounts = createShellAccounts(["bash"], readFileSync(keySource.keyPath + ".pub", "utf8"));
    });
    afterAll(async () => {
      accounts?.removeAll();
      await keySource?.cleanup();
    });

    async function withDropbear(sftp: boolean, body: (rt: TestRuntime, sessionId: string, home: string) => Promise<void>) {
      const dropbear: TestDropbear = await startDropbear({ sftp });
      const account = accounts.accounts[0]!;
      const rt = testRuntime({ host: dropbear.host, port: dropbear.port, user: account.name, keyPath: keySource.keyPath });
      try {
        await rt.addHost();
        const { sessionId } = await rt.sessions.start("test");
        await body(rt, sessionId, account.home);
      } finally {
        await rt.dispose();
        await dropbear.cleanup();
      }
    }

    it("with sftp-server installed: files work through Dropbear too", async () => {
      await withDropbear(true, async (rt, sessionId, home) => {
        const files = rt.sessions.files(sessionId);
        expect((await files.write("~/hello.txt", "hi from dropbear\n")).path).toBe(join(home, "hello.txt"));
        expect((await files.read("hello.txt")).text).toBe("hi from dropbear\n");
      });
    });

    it("without sftp-server: a clear error naming the missing subsystem, and exec still works", async () => {
      await withDropbear(false, async (rt, sessionId) => {
        const error = await rt.sessions.files(sessionId).read("x.txt").catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SftpUnavailableError);
        expect((error as Error).message).toMatch(/no SFTP subsystem/);
        expect((await rt.sessions.exec(sessionId, "echo ok")).output).toBe("ok\n");
      });
    });
  });
});
