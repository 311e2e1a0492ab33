// Asking the person, through the SDK client over stdio: secrets by URL elicitation (the page is
// fetched and posted as a client's browser would), and new host keys confirmed by form.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ElicitRequestSchema, ElicitationCompleteNotificationSchema, type ElicitRequest, type ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../support/mcp.js";
import { createPasswordUser, fingerprintOf, keyHostArgs, startSshd, type TestSshd } from "../support/sshd.js";

let sshd: TestSshd;
let user: NonNullable<ReturnType<typeof createPasswordUser>>;
const servers: TestServer[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  const created = createPasswordUser();
  if (!created) throw new Error("these tests need root, to create an account with a password");
  user = created;
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  user?.remove();
  await sshd?.cleanup();
});

type Handler = (request: ElicitRequest["params"]) => Promise<ElicitResult>;

/** A server whose client supports the given elicitation modes and answers with `handler`. */
async function serve(modes: { url?: boolean; form?: boolean }, handler: Handler = async () => ({ action: "decline" }), env: Record<string, string> = {}) {
  const completions: string[] = [];
  const asked: Array<ElicitRequest["params"]> = [];
  const elicitation = { ...(modes.url && { url: {} }), ...(modes.form && { form: {} }) };
  const srv = await startServer({
    env,
    capabilities: modes.url || modes.form ? { elicitation } : {},
    setup: (client: Client) => {
      if (!modes.url && !modes.form) return;
      client.setRequestHandler(ElicitRequestSchema, (request) => {
        asked.push(request.params);
        return handler(request.params);
      });
      if (modes.url) client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => void completions.push(n.params.elicitationId));
    },
  });
  servers.push(srv);
  return { srv, completions, asked };
}

/** Open the page as a browser would and send `secret` from its own form. */
async function typeInPage(url: string, secret: string, remember = false): Promise<number> {
  const html = await (await fetch(url)).text();
  const token = /name="token" value="([^"]+)"/.exec(html)![1]!;
  const body = new URLSearchParams({ token, secret, ...(remember && { remember: "on" }) });
  const reply = await fetch(url, { method: "POST", body, headers: { Origin: new URL(url).origin } });
  return reply.status;
}

/** Answers a URL elicitation by accepting, then typing `secret` into the page. */
const typing =
  (secret: string, remember = false): Handler =>
  async (params) => {
    if (params.mode !== "url") return { action: "decline" };
    const url = params.url;
    setImmediate(() => void typeInPage(url, secret, remember));
    return { action: "accept" };
  };

const passwordHost = (hostId: string) => ({ host_id: hostId, host: sshd.host, port: sshd.port, username: user.username });

describe("secrets by URL elicitation", () => {
  it("asks for a password the host lacks on a local page, logs in with it, and never shows it", async () => {
    const { srv, completions, asked } = await serve({ url: true }, typing(user.password));
    await srv.ok("add-host", passwordHost("pw"));
    const start = await srv.call("start-session", { host_id: "pw" });
    expect(start.isError).toBe(false);
    expect(asked).toHaveLength(1);
    const params = asked[0] as { mode: string; url: string; message: string; elicitationId: string };
    expect(params.mode).toBe("url");
    expect(params.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{22}$/);
    expect(params.message).toMatch(new RegExp(`password for ${user.username}@127\\.0\\.0\\.1:${sshd.port} \\(host 'pw'\\)`));
    expect(completions).toEqual([params.elicitationId]);
    expect(await srv.ok("exec", { session_id: start.text, command: "whoami" })).toBe(`${user.username}\n`);
    // Not remembered: hosts.json has no password, and the page is gone.
    expect(readFileSync(join(srv.home, ".ssh-mcp", "hosts.json"), "utf8")).not.toContain(user.password);
    await expect(fetch(params.url)).rejects.toThrow();
    const everything = JSON.stringify(await srv.call("list-hosts")) + start.text + JSON.stringify(start.structured) + srv.stderr() + JSON.stringify(asked);
    expect(everything).not.toContain(user.password);
  });

  it("stores the password when the person ticks remember, so the next start asks nothing", async () => {
    const { srv } = await serve({ url: true }, typing(user.password, true));
    await srv.ok("add-host", passwordHost("kept"));
    await srv.ok("start-session", { host_id: "kept" });
    expect((await srv.call("list-hosts")).text).toMatch(/kept\t.*auth=password/);
    expect(statSync(join(srv.home, ".ssh-mcp", "hosts.json")).mode & 0o777).toBe(0o600);
    // A client that cannot be asked now logs in with the stored password.
    const again = await startServer({ home: srv.home });
    servers.push(again);
    expect((await again.call("start-session", { host_id: "kept" })).isError).toBe(false);
    expect(srv.stderr() + again.stderr()).not.toContain(user.password);
  });

  it("says so, and stores nothing, when the typed password is wrong", async () => {
    const { srv } = await serve({ url: true }, typing("not-the-password", true));
    await srv.ok("add-host", passwordHost("wrong"));
    const r = await srv.call("start-session", { host_id: "wrong" });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/^The password typed for .* did not work \(Authentication failed.*Nothing was stored\. Run start-session again/);
    expect((await srv.call("list-hosts")).text).not.toMatch(/wrong\t.*auth=password/);
    expect(r.text + srv.stderr()).not.toContain("not-the-password");
  });

  it("asks for the passphrase of an encrypted key, never offers to store it, and logs in", async () => {
    const { srv, asked } = await serve({ url: true }, async (params) => {
      if (params.mode !== "url") return { action: "decline" };
      const url = params.url;
      const html = await (await fetch(url)).text();
      expect(html).toContain("Passphrase");
      expect(html).not.toContain('name="remember"');
      setImmediate(() => void typeInPage(url, sshd.passphrase, true));
      return { action: "accept" };
    });
    await srv.ok("add-host", { ...keyHostArgs(sshd, "locked"), keyPath: sshd.encryptedKeyPath });
    const id = await srv.ok("start-session", { host_id: "locked" });
    expect(await srv.ok("exec", { session_id: id, command: "echo in" })).toBe("in\n");
    expect((asked[0] as { message: string }).message).toMatch(/key passphrase/);
    expect(readFileSync(join(srv.home, ".ssh-mcp", "hosts.json"), "utf8")).not.toContain(sshd.passphrase);
    expect(srv.stderr()).not.toContain(sshd.passphrase);
  });

  it("explains how to store the password when the person declines or cancels", async () => {
    for (const action of ["decline", "cancel"] as const) {
      const { srv } = await serve({ url: true }, async () => ({ action }));
      await srv.ok("add-host", passwordHost(action));
      const r = await srv.call("start-session", { host_id: action });
      expect(r.isError).toBe(true);
      expect(r.text).toMatch(action === "decline" ? /^You declined to give the password/ : /^The request for the password .* was cancelled/);
      expect(r.text).toMatch(/store the password with edit-host/);
    }
  });

  it("keeps today's error, with the way to store the password, for a client without URL elicitation", async () => {
    const { srv, asked } = await serve({ form: true });
    await srv.ok("add-host", passwordHost("noask"));
    const r = await srv.call("start-session", { host_id: "noask" });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/Authentication failed|SSH_AUTH_SOCK is not set/);
    expect(r.text).toMatch(/edit-host/);
    expect(asked).toEqual([]);
  });
});

describe("SSH_MCP_STRICT_HOST_KEYS=ask", () => {
  const known = (srv: TestServer) => {
    try {
      return readFileSync(join(srv.home, ".ssh-mcp", "known_hosts"), "utf8");
    } catch {
      return "";
    }
  };

  it("asks before trusting a new host key, with its fingerprint, and records it on accept", async () => {
    const { srv, asked } = await serve({ form: true }, async () => ({ action: "accept", content: {} }), { SSH_MCP_STRICT_HOST_KEYS: "ask" });
    await srv.ok("add-host", keyHostArgs(sshd, "k"));
    const r = await srv.call("start-session", { host_id: "k" });
    expect(r.isError).toBe(false);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.message).toMatch(new RegExp(`^Trust host \\[127\\.0\\.0\\.1\\]:${sshd.port}\\?.*${fingerprintOf(`${sshd.hostKeyPath}.pub`).replace(/[+/]/g, "\\$&")}`));
    expect(known(srv)).toMatch(/^\[127\.0\.0\.1\]:\d+ ssh-ed25519 /m);
    // Known now: the next session asks nothing.
    await srv.ok("start-session", { host_id: "k" });
    expect(asked).toHaveLength(1);
  });

  it("refuses the connection with the fingerprint on decline, and records nothing", async () => {
    const { srv } = await serve({ form: true }, async () => ({ action: "decline" }), { SSH_MCP_STRICT_HOST_KEYS: "ask" });
    await srv.ok("add-host", keyHostArgs(sshd, "k"));
    const r = await srv.call("start-session", { host_id: "k" });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/is not known and you declined to trust its key\. It offered ssh-ed25519 SHA256:/);
    expect(r.text).toContain(fingerprintOf(`${sshd.hostKeyPath}.pub`));
    expect(known(srv)).toBe("");
  });

  it("asks for a host of ~/.ssh/config whose StrictHostKeyChecking is ask", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ssh-mcp-cfg-"));
    const config = join(dir, "config");
    writeFileSync(
      config,
      `Host cfg-ask\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentityFile ${sshd.keyPath}\n  StrictHostKeyChecking ask\n`,
      { mode: 0o600 },
    );
    try {
      const { srv, asked } = await serve({ form: true }, async () => ({ action: "accept", content: {} }), { SSH_MCP_SSH_CONFIG: config });
      expect((await srv.call("start-session", { host_id: "cfg-ask" })).isError).toBe(false);
      expect(asked).toHaveLength(1);
      expect(asked[0]!.message).toMatch(/^Trust host \[127\.0\.0\.1\]:\d+\?/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses, saying the client cannot ask, without elicitation", async () => {
    const { srv } = await serve({}, undefined, { SSH_MCP_STRICT_HOST_KEYS: "ask" });
    await srv.ok("add-host", keyHostArgs(sshd, "k"));
    const r = await srv.call("start-session", { host_id: "k" });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/SSH_MCP_STRICT_HOST_KEYS=ask needs a person to confirm a new key, and this MCP client cannot ask/);
    expect(known(srv)).toBe("");
  });
});
