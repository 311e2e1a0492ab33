// Throwaway local accounts whose login shells are the ones ssh-mcp supports, each with its own
// home, for logging in through a test sshd or Dropbear. Creating accounts needs root (as CI has).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The login shells the matrix covers; busybox ash is reached through a link named `ash`. */
export const LOGIN_SHELLS = ["bash", "dash", "zsh", "ksh93", "mksh", "ash"] as const;
export type LoginShell = (typeof LOGIN_SHELLS)[number];

export interface ShellAccount {
  name: string;
  shell: LoginShell;
  home: string;
  uid: number;
  /** Write a file in the account's home (its login scripts, say), owned by the account. */
  writeHomeFile(relative: string, text: string): void;
  remove(): void;
}

const firstExisting = (...paths: string[]) => paths.find((p) => existsSync(p));

/** Where a shell lives; ash needs a link named `ash` so busybox runs it as a login shell (`-ash`). */
function shellPath(shell: LoginShell, linkDir: string): string {
  if (shell === "ash") {
    const busybox = firstExisting("/bin/busybox", "/usr/bin/busybox");
    if (!busybox) throw new Error("busybox not found: run `npm test` (its pretest step installs it) or apt-get install busybox");
    const link = join(linkDir, "ash");
    if (!existsSync(link)) symlinkSync(busybox, link);
    return link;
  }
  const path = firstExisting(`/bin/${shell}`, `/usr/bin/${shell}`);
  if (!path) throw new Error(`${shell} not found: run \`npm test\` (its pretest step installs it) or apt-get install ${shell === "ksh93" ? "ksh" : shell}`);
  return path;
}

/** useradd and userdel fail while another process holds the password file lock: try again. */
function retryingLock(args: string[], command: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      execFileSync(command, args, { stdio: "pipe" });
      return;
    } catch (error) {
      if (attempt >= 50) throw error;
      execFileSync("sleep", ["0.1"]);
    }
  }
}

/**
 * Accounts for the given shells, with `authorizedKeys` in ~/.ssh/authorized_keys (Dropbear reads
 * only that; the test sshd has its own AuthorizedKeysFile). Dropbear also wants the shell listed
 * in /etc/shells, so the ash link is added there while the accounts exist.
 */
export function createShellAccounts(shells: readonly LoginShell[], authorizedKeys: string): { accounts: ShellAccount[]; removeAll(): void } {
  if (process.getuid?.() !== 0) {
    throw new Error("The login-shell tests create local accounts, which needs root (CI runs as root): run npm test as root.");
  }
  const linkDir = mkdtempSync(join(tmpdir(), "ssh-mcp-shells-"));
  chmodSync(linkDir, 0o755);
  const registered: string[] = [];
  const accounts = shells.map((shell): ShellAccount => {
    const path = shellPath(shell, linkDir);
    const etcShells = readFileSync("/etc/shells", "utf8");
    if (!etcShells.split("\n").includes(path)) {
      writeFileSync("/etc/shells", etcShells.endsWith("\n") ? `${etcShells}${path}\n` : `${etcShells}\n${path}\n`);
      registered.push(path);
    }
    const name = `smcp${shell.slice(0, 4)}${randomBytes(3).toString("hex")}`;
    const home = mkdtempSync(join(tmpdir(), `ssh-mcp-${shell}-home-`));
    // "*": no password, but not locked (OpenSSH refuses locked accounts even for key logins).
    retryingLock(["-M", "-p", "*", "-d", home, "-s", path, name], "useradd");
    const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim());
    chownSync(home, uid, gid);
    chmodSync(home, 0o755);
    const writeHomeFile = (relative: string, text: string) => {
      const file = join(home, relative);
      const dir = join(file, "..");
      if (!existsSync(dir)) {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        chownSync(dir, uid, gid);
      }
      writeFileSync(file, text, { mode: 0o600 });
      chownSync(file, uid, gid);
    };
    writeHomeFile(".ssh/authorized_keys", authorizedKeys);
    return {
      name,
      shell,
      home,
      uid,
      writeHomeFile,
      remove: () => {
        try {
          execFileSync("pkill", ["-KILL", "-u", name], { stdio: "ignore" });
        } catch {
          // nothing was running
        }
        try {
          retryingLock(["-f", name], "userdel");
        } catch {
          // already gone
        }
        rmSync(home, { recursive: true, force: true });
      },
    };
  });
  return {
    accounts,
    removeAll() {
      for (const account of accounts) account.remove();
      if (registered.length) {
        const kept = readFileSync("/etc/shells", "utf8").split("\n").filter((line) => !registered.includes(line));
        writeFileSync("/etc/shells", kept.join("\n"));
      }
      rmSync(linkDir, { recursive: true, force: true });
    },
  };
}
