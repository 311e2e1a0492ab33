import { describe, expect, it } from "vitest";
import { destructiveMatch } from "../../src/policy/builtin-patterns.js";
import { parsePolicyFile, PolicyFileError } from "../../src/policy/policy-file.js";
import { judge, similarityKey, type HostPolicy } from "../../src/policy/policy.js";
import { notReadOnly } from "../../src/policy/read-only.js";

const rules = (json: unknown): HostPolicy => parsePolicyFile({ default: json }).defaultPolicy;

describe("judge", () => {
  it("allows everything under open, asks for everything under ask", () => {
    expect(judge({ mode: "open" }, { command: "rm -rf /" }).decision).toBe("allow");
    expect(judge({ mode: "ask" }, { command: "ls" }).decision).toBe("ask");
  });

  it("takes the first matching rule, then the default", () => {
    const policy = rules({ rules: [{ allow: "^echo safe" }, { deny: "builtin:destructive" }, { ask: "^systemctl " }], default: "deny" });
    expect(judge(policy, { command: "echo safe" })).toEqual({ decision: "allow", reason: "rule 1 (allow ^echo safe) matched" });
    expect(judge(policy, { command: "sudo reboot" })).toMatchObject({ decision: "deny", reason: "rule 2 (deny builtin:destructive) matched" });
    expect(judge(policy, { command: "systemctl restart nginx" }).decision).toBe("ask");
    expect(judge(policy, { command: "echo other" })).toEqual({ decision: "deny", reason: "no rule matched; the default is deny" });
  });

  it("asks about sudo under rules unless a rule says otherwise, and refuses it under read-only", () => {
    const policy = rules({ rules: [{ allow: "^apt-get update$" }], default: "allow" });
    expect(judge(policy, { command: "ls", sudo: true }).decision).toBe("ask");
    expect(judge(policy, { command: "apt-get update", sudo: true }).decision).toBe("allow");
    expect(judge(rules({ rules: [], default: "deny" }), { command: "ls", sudo: true }).decision).toBe("deny");
    expect(judge({ mode: "read-only" }, { command: "ls", sudo: true }).decision).toBe("deny");
  });
});

describe("the built-in destructive list", () => {
  it.each([
    "rm -rf /",
    "rm -rf / --no-preserve-root",
    "sudo rm -fr /*",
    "rm -r -f ~",
    "rm -rf /etc",
    "mkfs.ext4 /dev/sdb1",
    "dd if=/dev/zero of=/dev/sda bs=1M",
    "shutdown -h now",
    "reboot",
    "systemctl poweroff",
    ":(){ :|:& };:",
    "echo x > /dev/sda",
    "chmod -R 777 /",
    "crontab -r",
    "psql -c 'DROP DATABASE prod'",
  ])("matches %s", (command) => expect(destructiveMatch(command)).toBeDefined());

  it.each(["rm -rf ./build", "rm -rf /tmp/app-cache/x", "ls /", "dd if=a of=b", "echo rebooting-soon"])("leaves %s alone", (command) =>
    expect(destructiveMatch(command)).toBeUndefined(),
  );

  it("errs on the side of caution: a command that merely mentions reboot matches too", () => {
    expect(destructiveMatch("grep reboot /var/log/syslog")).toBeDefined();
  });
});

describe("read-only", () => {
  it.each(["ls -la /etc", "cat /etc/os-release | grep -i name", "df -h && free -m", "systemctl status nginx", "git log --oneline -5", "find /var/log -name '*.gz'", "journalctl -u ssh -n 50", "hostname -f"])(
    "allows %s",
    (command) => expect(notReadOnly(command)).toBeUndefined(),
  );
  it.each([
    ["rm -f x", /'rm' is not on the read-only list/],
    ["ls > /tmp/out", /redirection/],
    ["cat $(echo /etc/shadow)", /expansion/],
    ["ls; touch x", /'touch'/],
    ["find / -delete", /'find -delete' writes/],
    ["systemctl restart nginx", /'systemctl' is read-only only as systemctl status/],
    ["sleep 9 &", /background/],
    ["FOO=1 ls", /assignment/],
    ["env rm -rf /", /can run other programs/],
    ["sort -o /etc/passwd x", /'sort -o' writes/],
    ["hostname evil", /'hostname evil' writes/],
    ['echo "$HOME"', /expansion inside double quotes/],
    ["(ls)", /subshell/],
  ])("refuses %s", (command, why) => expect(notReadOnly(command)).toMatch(why));
});

describe("policy.json", () => {
  it("reads modes per host and rules, with ask as the rules' default", () => {
    const { defaultPolicy, hosts } = parsePolicyFile({ default: "read-only", hosts: { a: "ask", b: { rules: [{ deny: "x" }] } } });
    expect(defaultPolicy).toEqual({ mode: "read-only" });
    expect(hosts.get("a")).toEqual({ mode: "ask" });
    expect(hosts.get("b")).toMatchObject({ mode: "rules", default: "ask" });
  });

  it.each([
    [[], /JSON object/],
    [{ defaults: "open" }, /unknown field "defaults"/],
    [{ default: "closed" }, /default = "closed"/],
    [{ hosts: { a: { rules: [{ block: "x" }] } } }, /hosts\["a"\]\.rules\[0\]/],
    [{ hosts: { a: { rules: [{ deny: "(" }] } } }, /invalid regular expression "\("/],
    [{ hosts: { a: { rules: [], default: "maybe" } } }, /default = "maybe"/],
  ])("refuses %j, naming the field", (json, message) => {
    expect(() => parsePolicyFile(json)).toThrow(PolicyFileError);
    expect(() => parsePolicyFile(json)).toThrow(message);
  });
});

describe("approve similar", () => {
  it("keys on the first two words, and never on a destructive command", () => {
    expect(similarityKey("systemctl restart nginx")).toBe("systemctl restart");
    expect(similarityKey("  uptime ")).toBe("uptime");
    expect(similarityKey("rm -rf /")).toBeUndefined();
  });
});
