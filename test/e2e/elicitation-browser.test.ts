// The one-time secret page in a real headless browser (Debian's chromium, driven by playwright-core):
// a person types the password there while an SDK client over stdio waits on start-session.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../support/mcp.js";
import { createPasswordUser, startSshd, type TestSshd } from "../support/sshd.js";

let sshd: TestSshd;
let user: NonNullable<ReturnType<typeof createPasswordUser>>;
let browser: Browser;
let evil: Server;
let evilOrigin: string;
/** What the attacker's page should post to: set per test. */
let evilTarget = "";

beforeAll(async () => {
  sshd = await startSshd();
  const created = createPasswordUser();
  if (!created) throw new Error("these tests need root, to create an account with a password");
  user = created;
  // Root has no user namespace sandbox here; the page under test needs none.
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  // Another site on this machine, whose page posts a form to the secret page by itself.
  evil = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end(
      `<form id="f" method="post" action="${evilTarget}"><input name="token" value="guess"><input name="secret" value="attacker-pw"></form>` +
        `<script>document.getElementById("f").submit()</script>`,
    );
  });
  await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
  evilOrigin = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await browser?.close();
  evil?.close();
  user?.remove();
  await sshd?.cleanup();
});

/** What the browser did for each page, awaited by the test so a failure there fails it. */
const flows: Array<Promise<void>> = [];

async function serveWithBrowser(onUrl: (url: string) => Promise<void>): Promise<TestServer> {
  return startServer({
    capabilities: { elicitation: { url: {} } },
    setup: (client: Client) =>
      client.setRequestHandler(ElicitRequestSchema, async (request) => {
        if (request.params.mode !== "url") return { action: "decline" };
        const url = request.params.url;
        flows.push(new Promise<void>((resolve) => setImmediate(resolve)).then(() => onUrl(url)));
        return { action: "accept" };
      }),
  });
}

describe("the secret page in Chromium", () => {
  it("takes the password a person types, remembers it when asked, and the session starts", { timeout: 60_000 }, async () => {
    let shown = "";
    const srv = await serveWithBrowser(async (url) => {
      const page = await browser.newPage();
      await page.goto(url);
      await page.getByLabel("Password").fill(user.password);
      await page.getByLabel(/Remember it for host 'b'/).check();
      await page.getByRole("button", { name: "Send" }).click();
      await page.getByRole("heading", { name: "Received" }).waitFor();
      shown = await page.content();
      await page.close();
    });
    try {
      await srv.ok("add-host", { host_id: "b", host: sshd.host, port: sshd.port, username: user.username });
      const id = await srv.ok("start-session", { host_id: "b" });
      expect(await srv.ok("exec", { session_id: id, command: "whoami" })).toBe(`${user.username}\n`);
      await Promise.all(flows.splice(0));
      expect(shown).not.toContain(user.password);
      expect((await srv.call("list-hosts")).text).toMatch(/b\t.*auth=password/);
      expect(srv.stderr()).not.toContain(user.password);
    } finally {
      await srv.close();
    }
  });

  it("refuses a form another site posts to it, then still takes the person's", { timeout: 60_000 }, async () => {
    const statuses: number[] = [];
    const srv = await serveWithBrowser(async (url) => {
      const attacker = await browser.newPage();
      evilTarget = url;
      const posted = attacker.waitForResponse((r) => r.url() === url && r.request().method() === "POST");
      await attacker.goto(evilOrigin);
      statuses.push((await posted).status());
      await attacker.close();
      const page = await browser.newPage();
      await page.goto(url);
      await page.getByLabel("Password").fill(user.password);
      await page.getByRole("button", { name: "Send" }).click();
      await page.getByRole("heading", { name: "Received" }).waitFor();
      await page.close();
    });
    try {
      await srv.ok("add-host", { host_id: "c", host: sshd.host, port: sshd.port, username: user.username });
      const id = await srv.ok("start-session", { host_id: "c" });
      await Promise.all(flows.splice(0));
      expect(statuses).toEqual([403]);
      expect(await srv.ok("exec", { session_id: id, command: "whoami" })).toBe(`${user.username}\n`);
    } finally {
      await srv.close();
    }
  });
});
