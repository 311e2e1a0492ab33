// The test suite starts its own OpenSSH sshd, so the binary must exist. On a fresh Debian
// machine running as root, install it; otherwise say in one line how to.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const candidates = ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/usr/bin/sshd"];
const have = () => candidates.some((p) => existsSync(p));
const tools = ["ssh", "ssh-keygen", "ssh-agent", "ssh-add"];
const onPath = (cmd) => {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

if (have() && tools.every(onPath)) process.exit(0);

const root = process.getuid?.() === 0;
if (root && onPath("apt-get")) {
  console.error("ssh-mcp tests: installing openssh-server and openssh-client (apt-get)...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "openssh-server", "openssh-client"], {
      stdio: ["ignore", "ignore", "inherit"],
      env,
    });
  } catch {
    // fall through to the message below
  }
  if (have() && tools.every(onPath)) process.exit(0);
}
console.error(
  "ssh-mcp tests need OpenSSH's sshd and client tools: install them (Debian/Ubuntu: sudo apt-get install openssh-server openssh-client; macOS: they ship with the system) and run npm test again.",
);
process.exit(1);
