// Guardrails through the SDK client over stdio: the person's policy.json per host, approval by
// form elicitation, and the audit log.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ElicitRequestSchema, type ElicitRequest, type ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/audit-log.js";
import { startServer, type TestServer } from "../support/mcp.js";
import { keyHostArgs, startSshd, type TestSshd } from "../support/sshd.js";

let sshd: TestSshd;
const homes: string[] = [];
const servers: TestServer[] = [];
const PASSWORD = "stored-secret-4711";

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  homes.forEach((h) => rmSync(h, { recursive: true, force: true }));
  await sshd?.cleanup();
});

/** A HOME with policy.json and the given hosts (all on the test sshd) saved. */
function home(policy: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "ssh-mcp-home-"));
  homes.push(dir);
  mkdirSync(join(dir, ".ssh-mcp"), { mode: 0o700 });
  writeFileSync(join(dir, ".ssh-mcp", "policy.json"), typeof policy === "string" ? policy : JSON.stringify(policy));
  return dir;
}

type Answer = (params: ElicitRequest["params"]) => Promise<ElicitResult>;

async function serve(dir: string, answer?: Answer): Promise<{ srv: TestServer; asked: string[] }> {
  const asked: string[] = [];
  const srv = await startServer({
    home: dir,
    capabilities: answer ? { elicitation: { form: {} } } : {},
    setup: (client: Client) => {
      if (!answer) return;
      client.setRequestHandler(ElicitRequestSchema, async (request) => {
        asked.push(request.params.message);
        return answer(request.params);
      });
    },
  });
  servers.push(srv);
  return { srv, asked };
}

const decide = (decision: string): Answer => async () => ({ action: "accept", content: { decision } });

/** Every line of the audit log, parsed (waits until `count` are there: lines are written off the call's path). */
async function audit(dir: string, count: number): Promise<AuditRecord[]> {
  const file = join(dir, ".ssh-mcp", "audit.jsonl");
  for (let i = 0; i < 200; i++) {
    const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
    if (lines.length >= count) return lines.map((l) => JSON.parse(l) as AuditRecord);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the audit log did not reach ${count} lines`);
}

/** A marker path on the (local) test host: proof of whether a command reached the shell. */
const marker = (name: string) => join(sshd.dir, `marker-${name}-${process.pid}`);

async function session(srv: TestServer, hostId: string): Promise<string> {
  await srv.ok("add-host", keyHostArgs(sshd, hostId, { password: PASSWORD }));
  return srv.ok("start-session", { host_id: hostId });
}

describe("policy modes", () => {
  it("read-only runs readers and refuses anything else before it reaches the host", async () => {
    const dir = home({ hosts: { ro: "read-only" } });
    const { srv } = await serve(dir);
    const id = await session(srv, "ro");
    expect(await srv.ok("exec", { session_id: id, command: "echo hi | wc -c" })).toBe("3\n");
    const refused = await srv.call("exec", { session_id: id, command: `touch ${marker("ro")}` });
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/^Refused by the policy for host 'ro' \(policy read-only: 'touch' is not on the read-only list\)\. Nothing was sent to the host\./);
    expect(existsSync(marker("ro"))).toBe(false);
    expect((await srv.call("list-hosts")).text).toMatch(/ro\t.*\tpolicy=read-only/);
    const lines = await audit(dir, 2);
    expect(lines.map((l) => [l.command, l.decision])).toEqual([
      ["echo hi | wc -c", "allowed"],
      [`touch ${marker("ro")}`, "denied"],
    ]);
    expect(lines[0]).toMatchObject({ hostId: "ro", sessionId: id, kind: "exec", status: "exited", exitStatus: 0, outputBytes: 2 });
    expect(lines[1]!.status).toBeUndefined();
  });

  it("rules: the first match wins, the built-in list denies, the default applies", async () => {
    const dir = home({ hosts: { r: { rules: [{ allow: "^echo safe" }, { deny: "builtin:destructive" }, { allow: "^printf " }], default: "deny" } } });
    const { srv } = await serve(dir);
    const id = await session(srv, "r");
    expect(await srv.ok("exec", { session_id: id, command: "echo safe" })).toBe("safe\n");
    expect((await srv.call("exec", { session_id: id, command: `shutdown -h now; touch ${marker("rules")}` })).text).toMatch(
      /rule 2 \(deny builtin:destructive\) matched/,
    );
    expect((await srv.call("exec", { session_id: id, command: `touch ${marker("rules")}` })).text).toMatch(/no rule matched; the default is deny/);
    expect(await srv.ok("exec", { session_id: id, command: "printf ok" })).toBe("ok");
    expect(existsSync(marker("rules"))).toBe(false);
    expect((await srv.call("list-hosts")).structured).toMatchObject({ hosts: [{ host_id: "r", policy: "rules (3, default deny)" }] });
  });

  it("refuses every command, naming the problem, while policy.json is broken", async () => {
    const dir = home("{ not json");
    const { srv } = await serve(dir);
    const id = await session(srv, "any");
    const r = await srv.call("exec", { session_id: id, command: "true" });
    expect(r.text).toMatch(/policy\.json is not valid JSON .*Every command is refused until it is fixed/);
  });

  it("cannot be loosened through a tool call", async () => {
    const { srv } = await serve(home({ hosts: { x: "ask" } }));
    const r = await srv.call("add-host", { ...keyHostArgs(sshd, "y"), policy: "open" });
    expect(r.text).toMatch(/Unknown argument 'policy'/);
  });
});

describe("approval", () => {
  it("runs an approved command, refuses a declined one without reaching the host, and logs both", async () => {
    let answer = "approve";
    const dir = home({ hosts: { a: "ask" } });
    const { srv, asked } = await serve(dir, async () => ({ action: "accept", content: { decision: answer } }));
    const id = await session(srv, "a");
    expect(await srv.ok("exec", { session_id: id, command: "echo approved" })).toBe("approved\n");
    expect(asked[0]).toMatch(new RegExp(`^Run on host 'a' \\(${sshd.user}@127\\.0\\.0\\.1:${sshd.port}\\):\\n\\necho approved\\n\\nAsked because: policy ask`));
    answer = "decline";
    const r = await srv.call("exec", { session_id: id, command: `touch ${marker("declined")}` });
    expect(r.text).toMatch(/^The person declined to run this command on host 'a'.*Nothing was sent to the host\./);
    expect(existsSync(marker("declined"))).toBe(false);
    const lines = await audit(dir, 2);
    expect(lines.map((l) => l.decision)).toEqual(["approved", "declined"]);
  });

  it("treats a declined or cancelled form as no", async () => {
    for (const action of ["decline", "cancel"] as const) {
      const { srv } = await serve(home({ hosts: { a: "ask" } }), async () => ({ action }));
      const id = await session(srv, "a");
      expect((await srv.call("exec", { session_id: id, command: "true" })).text).toMatch(/^The person declined/);
    }
  });

  it("approves similar commands for the rest of the session when asked to", async () => {
    const { srv, asked } = await serve(home({ hosts: { a: "ask" } }), decide("approve-similar"));
    const id = await session(srv, "a");
    await srv.ok("exec", { session_id: id, command: "echo same one" });
    await srv.ok("exec", { session_id: id, command: "echo same two" });
    expect(asked).toHaveLength(1);
    await srv.ok("exec", { session_id: id, command: "printf three" });
    expect(asked).toHaveLength(2);
    // Another session asks again.
    const other = await srv.ok("start-session", { host_id: "a" });
    await srv.ok("exec", { session_id: other, command: "echo same four" });
    expect(asked).toHaveLength(3);
  });

  it("refuses, saying why and what to change, when the client cannot ask", async () => {
    const { srv } = await serve(home({ hosts: { a: "ask" } }));
    const id = await session(srv, "a");
    const r = await srv.call("exec", { session_id: id, command: `touch ${marker("noask")}` });
    expect(r.text).toMatch(/needs a person to approve this command \(policy ask: every command needs approval\), and this MCP client cannot ask/);
    expect(r.text).toMatch(/change the host's policy in .*policy\.json/);
    expect(existsSync(marker("noask"))).toBe(false);
  });
});

describe("file tools under the policy", () => {
  it("judges writes by their absolute path, lets reads through, asks under ask, and logs every file operation", async () => {
    const base = join(sshd.dir, `files-${process.pid}`);
    mkdirSync(join(base, "locked"), { recursive: true });
    mkdirSync(join(base, "open"), { recursive: true });
    writeFileSync(join(base, "open", "readme.txt"), "hello\n");
    const dir = home({
      hosts: {
        ro: "read-only",
        r: { rules: [{ deny: `^(write-file|edit-file|upload) ${base}/locked/` }], default: "allow" },
        a: "ask",
      },
    });
    const { srv, asked } = await serve(dir, decide("approve"));
    const ro = await session(srv, "ro");
    expect(await srv.ok("read-file", { session_id: ro, path: join(base, "open", "readme.txt") })).toBe("hello\n");
    const refused = await srv.call("write-file", { session_id: ro, path: join(base, "open", "new.txt"), content: "x" });
    expect(refused.text).toMatch(/^Refused by the policy for host 'ro' \(policy read-only: 'write-file' is not on the read-only list\)/);
    expect(existsSync(join(base, "open", "new.txt"))).toBe(false);

    // A relative path is judged where it really points: after cd, "x.txt" is .../locked/x.txt.
    const r = await session(srv, "r");
    await srv.ok("exec", { session_id: r, command: `cd ${join(base, "locked")}` });
    expect((await srv.call("write-file", { session_id: r, path: "x.txt", content: "x" })).text).toMatch(/rule 1 \(deny .*\) matched/);
    expect(existsSync(join(base, "locked", "x.txt"))).toBe(false);
    expect(await srv.ok("write-file", { session_id: r, path: join(base, "open", "y.txt"), content: "yes" })).toMatch(/^Created /);

    const a = await session(srv, "a");
    await srv.ok("write-file", { session_id: a, path: join(base, "open", "z.txt"), content: "approved" });
    expect(asked.at(-1)).toMatch(new RegExp(`write-file ${join(base, "open", "z.txt")}`));
    expect(readFileSync(join(base, "open", "z.txt"), "utf8")).toBe("approved");

    const lines = (await audit(dir, 6)).filter((l) => l.kind !== "exec");
    expect(lines.map((l) => [l.kind, l.path, l.decision, l.status])).toEqual([
      ["read-file", join(base, "open", "readme.txt"), "allowed", "done"],
      ["write-file", join(base, "open", "new.txt"), "denied", undefined],
      ["write-file", join(base, "locked", "x.txt"), "denied", undefined],
      ["write-file", join(base, "open", "y.txt"), "allowed", "done"],
      ["write-file", join(base, "open", "z.txt"), "approved", "done"],
    ]);
    expect(lines.at(-1)!.bytes).toBe(8);
  });
});

describe("the audit log", () => {
  it("has one valid line per call under 20 concurrent calls from each of two server processes, with no secret", { timeout: 90_000 }, async () => {
    const dir = home({});
    const one = await serve(dir);
    await one.srv.ok("add-host", keyHostArgs(sshd, "h", { password: PASSWORD }));
    const two = await serve(dir);
    const calls = [one.srv, two.srv].flatMap((srv, s) =>
      Array.from({ length: 20 }, async (_, i) => {
        const id = await srv.ok("start-session", { host_id: "h" });
        return srv.ok("exec", { session_id: id, command: `echo ${s}-${i} ${PASSWORD}` });
      }),
    );
    await Promise.all(calls);
    const lines = await audit(dir, 40);
    expect(lines).toHaveLength(40);
    expect(lines.map((l) => l.command).sort()).toEqual(
      [0, 1].flatMap((s) => Array.from({ length: 20 }, (_, i) => `echo ${s}-${i} ***`)).sort(),
    );
    expect(lines.every((l) => l.decision === "allowed" && l.exitStatus === 0 && typeof l.durationMs === "number")).toBe(true);
    expect(readFileSync(join(dir, ".ssh-mcp", "audit.jsonl"), "utf8")).not.toContain(PASSWORD);
  });

  it("is not written with SSH_MCP_AUDIT=off", async () => {
    const dir = home({});
    const srv = await startServer({ home: dir, env: { SSH_MCP_AUDIT: "off" } });
    servers.push(srv);
    const id = await session(srv, "quiet");
    await srv.ok("exec", { session_id: id, command: "true" });
    await srv.close();
    servers.splice(servers.indexOf(srv), 1);
    expect(existsSync(join(dir, ".ssh-mcp", "audit.jsonl"))).toBe(false);
  });
});
