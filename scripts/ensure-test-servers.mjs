// The test suite starts its own SSH servers (OpenSSH sshd and Dropbear) and logs in to accounts
// whose login shells are bash, dash, zsh, ksh93, mksh and busybox ash; the sudo tests need sudo, and
// the secret page is tested in Chromium. On a Debian machine
// running as root, install what is missing; otherwise say in one line how to.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const onPath = (cmd) => {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const anyOf = (...paths) => () => paths.some((p) => existsSync(p));

/** Debian package -> how to tell it is there. */
const needs = {
  "openssh-server": anyOf("/usr/sbin/sshd", "/usr/local/sbin/sshd", "/usr/bin/sshd"),
  "openssh-client": () => ["ssh", "ssh-keygen", "ssh-agent", "ssh-add"].every(onPath),
  "dropbear-bin": anyOf("/usr/sbin/dropbear", "/usr/bin/dropbear"),
  zsh: anyOf("/bin/zsh", "/usr/bin/zsh"),
  mksh: anyOf("/bin/mksh", "/usr/bin/mksh"),
  ksh: anyOf("/bin/ksh93", "/usr/bin/ksh93"),
  busybox: anyOf("/bin/busybox", "/usr/bin/busybox"),
  // The one-time secret page is tested in a real headless browser (driven by playwright-core).
  chromium: anyOf("/usr/bin/chromium"),
  sudo: anyOf("/usr/bin/sudo", "/bin/sudo"),
};
const missing = () => Object.keys(needs).filter((pkg) => !needs[pkg]());

let todo = missing();
if (todo.length && process.getuid?.() === 0 && onPath("apt-get")) {
  console.error(`ssh-mcp tests: installing ${todo.join(" ")} (apt-get)...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...todo], { stdio: ["ignore", "ignore", "inherit"], env });
  } catch {
    // fall through to the message below
  }
  todo = missing();
}
if (todo.length) {
  console.error(
    `ssh-mcp tests need ${todo.join(", ")}: install them (Debian/Ubuntu: sudo apt-get install ${Object.keys(needs).join(" ")}) and run npm test again.`,
  );
  process.exit(1);
}
