// The one-time secret page over real HTTP on 127.0.0.1 (a real browser drives it in test/e2e/elicitation-browser.test.ts).
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { SecretPage, SecretPageClosedError, type SecretPageOptions } from "../../src/elicitation/secret-page.js";

const pages: SecretPage[] = [];
afterEach(() => pages.splice(0).forEach((p) => p.close()));

async function open(options: Partial<SecretPageOptions> = {}): Promise<SecretPage> {
  const page = await SecretPage.open({ title: "Password for u@h:22", prompt: "ssh-mcp needs it", label: "Password", remember: "Remember it", maxLength: 1024, ...options });
  pages.push(page);
  return page;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request, so Host and Origin can be anything (fetch would fix them). */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: options.method ?? "GET", headers: { Connection: "close", ...options.headers } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const tokenOf = (html: string) => /name="token" value="([^"]+)"/.exec(html)![1]!;
const origin = (page: SecretPage) => new URL(page.url).origin;

async function post(page: SecretPage, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Reply> {
  return send(page.url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: origin(page), ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

describe("SecretPage", () => {
  it("serves a self-contained form on 127.0.0.1 at an unguessable path, never cached", async () => {
    const page = await open();
    expect(page.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{22}$/);
    const reply = await send(page.url);
    expect(reply.status).toBe(200);
    expect(reply.headers["cache-control"]).toBe("no-store");
    expect(reply.headers["content-security-policy"]).toMatch(/default-src 'none'.*form-action 'self'.*frame-ancestors 'none'/);
    expect(reply.body).toMatch(/<input type="password" name="secret"/);
    expect(reply.body).not.toMatch(/<script|<link|src=|https?:\/\//);
  });

  it("takes the secret once from its own form, then refuses a second use", async () => {
    const page = await open();
    const token = tokenOf((await send(page.url)).body);
    const ok = await post(page, { token, secret: "pa ss&wörd", remember: "on" });
    expect(ok.status).toBe(200);
    expect(ok.body).not.toContain("pa ss");
    expect(await page.submitted).toEqual({ secret: "pa ss&wörd", remember: true });
    await expect(post(page, { token, secret: "again" })).rejects.toThrow(/ECONNREFUSED/);
  });

  it("refuses a wrong token, a cross-origin POST, another Host and another path, and keeps waiting", async () => {
    const page = await open();
    const token = tokenOf((await send(page.url)).body);
    expect((await post(page, { token: "x".repeat(token.length), secret: "s" })).status).toBe(403);
    expect((await post(page, { token, secret: "s" }, { Origin: "http://evil.example" })).status).toBe(403);
    const noOrigin = await send(page.url, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: `token=${token}&secret=s` });
    expect(noOrigin.status).toBe(403);
    expect((await send(page.url, { headers: { Host: "attacker.example" } })).status).toBe(404);
    expect((await send(page.url.replace(/\/[^/]+$/, "/other"))).status).toBe(404);
    expect((await send(page.url, { method: "PUT" })).status).toBe(405);
    expect((await post(page, { token, secret: "x".repeat(20_000) })).status).toBe(413);
    expect((await post(page, { token, secret: "" })).status).toBe(400);
    // Still open for the right request.
    expect((await post(page, { token, secret: "right" })).status).toBe(200);
    expect((await page.submitted).secret).toBe("right");
  });

  it("leaves the remember box out when nothing can be remembered, and ignores a forged one", async () => {
    const page = await open({ remember: undefined });
    const html = (await send(page.url)).body;
    expect(html).not.toContain('name="remember"');
    await post(page, { token: tokenOf(html), secret: "s", remember: "on" });
    expect(await page.submitted).toEqual({ secret: "s", remember: false });
  });

  it("expires: the secret is never accepted afterwards", async () => {
    const page = await open({ ttlMs: 200 });
    const token = tokenOf((await send(page.url)).body);
    const error = await page.submitted.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretPageClosedError);
    expect((error as SecretPageClosedError).expired).toBe(true);
    await expect(post(page, { token, secret: "late" })).rejects.toThrow(/ECONNREFUSED/);
  });

  it("escapes what it shows", async () => {
    const page = await open({ prompt: `<img src=x onerror="alert(1)">` });
    expect((await send(page.url)).body).toContain("&#60;img src=x onerror=&#34;alert(1)&#34;&#62;");
  });
});
