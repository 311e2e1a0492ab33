import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SshMcpError } from "../errors.js";

/** What the page asks for, in words shown to the person. */
export interface SecretPageOptions {
  /** Heading and title, e.g. "Password for deploy@web.example:22". */
  title: string;
  /** One paragraph: who asks, for what. */
  prompt: string;
  /** Label of the secret field, e.g. "Password". */
  label: string;
  /** Label of the "remember" checkbox; no checkbox without one. */
  remember?: string;
  /** Longest secret accepted, in characters. */
  maxLength: number;
  /** How long the page stays open (default 5 minutes). */
  ttlMs?: number;
}

/** What the person sent. */
export interface SubmittedSecret {
  secret: string;
  remember: boolean;
}

/** The page closed before anyone sent a secret: it expired, or its caller gave up. */
export class SecretPageClosedError extends SshMcpError {
  constructor(readonly expired: boolean) {
    super(expired ? "The page for the secret expired before anything was sent." : "The page for the secret was closed before anything was sent.");
  }
}

const DEFAULT_TTL_MS = 5 * 60 * 1000;
const MAX_BODY_BYTES = 16 * 1024;
const HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Cache-Control": "no-store",
  Pragma: "no-cache",
  // Nothing loads from anywhere, the form posts only to itself, and no site can frame it.
  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  // Not no-referrer: under it a browser sends "Origin: null" with the form, and the Origin check needs the real one.
  "Referrer-Policy": "same-origin",
};

/**
 * A one-time page on 127.0.0.1 where a person types a secret that must not pass through the
 * model or the MCP client (URL-mode elicitation):
 *
 *   open ──POST from itself with the page's token──▶ used (submitted resolves; server closes)
 *     └──expiry or close()──▶ closed (submitted rejects)
 *
 * The address is unguessable (random port and a 128-bit path), requests must name the address
 * itself as Host (no DNS rebinding) and, for the POST, as Origin (no other site can post to it),
 * and carry a per-page form token. Anything else gets 404 or 403 and changes nothing.
 */
export class SecretPage {
  readonly submitted: Promise<SubmittedSecret>;
  private state: "open" | "used" | "closed" = "open";
  private resolve!: (value: SubmittedSecret) => void;
  private reject!: (error: Error) => void;
  private readonly expiry: NodeJS.Timeout;
  private readonly path = `/${randomBytes(16).toString("base64url")}`;
  private readonly formToken = randomBytes(16).toString("base64url");

  private constructor(
    private readonly server: Server,
    private readonly origin: string,
    private readonly options: SecretPageOptions,
  ) {
    this.submitted = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Callers may stop listening (a declined elicitation); a rejection nobody awaits must not crash.
    this.submitted.catch(() => undefined);
    this.expiry = setTimeout(() => this.close(true), options.ttlMs ?? DEFAULT_TTL_MS);
    this.expiry.unref();
    server.on("request", (req, res) => this.handle(req, res));
  }

  /** Start serving the page on a free port of 127.0.0.1. */
  static async open(options: SecretPageOptions): Promise<SecretPage> {
    const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return new SecretPage(server, `http://127.0.0.1:${port}`, options);
  }

  /** The page's address: what the elicitation sends. */
  get url(): string {
    return `${this.origin}${this.path}`;
  }

  /** Stop serving; a secret not sent yet is never accepted. */
  close(expired = false): void {
    if (!this.server.listening) return;
    if (this.state === "open") {
      this.state = "closed";
      this.reject(new SecretPageClosedError(expired));
    }
    clearTimeout(this.expiry);
    this.server.close();
    this.server.closeAllConnections();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const host = `${this.origin.slice("http://".length)}`;
    if (req.headers.host !== host || req.url !== this.path) return send(res, 404, page("Not found", "<p>There is nothing here.</p>"));
    if (this.state !== "open") return send(res, 410, page("Already used", "<p>This page was used or has expired. Ask again from your MCP client.</p>"));
    if (req.method === "GET") return send(res, 200, this.form());
    if (req.method !== "POST") return send(res, 405, page("Not allowed", "<p>Only the form on this page may be sent.</p>"));
    if (req.headers.origin !== this.origin) return send(res, 403, page("Refused", "<p>Only this page may send the secret.</p>"));
    readBody(req).then(
      (body) => this.submit(body, res),
      () => {
        res.once("finish", () => req.socket.destroy());
        send(res, 413, page("Refused", "<p>That was too much to be a secret.</p>"));
      },
    );
  }

  private submit(body: string, res: ServerResponse): void {
    if (this.state !== "open") return send(res, 410, page("Already used", "<p>This page was already used.</p>"));
    const form = new URLSearchParams(body);
    const token = Buffer.from(form.get("token") ?? "");
    const expected = Buffer.from(this.formToken);
    if (token.length !== expected.length || !timingSafeEqual(token, expected)) {
      return send(res, 403, page("Refused", "<p>This form is out of date. Open the link from your MCP client again.</p>"));
    }
    const secret = form.get("secret") ?? "";
    if (secret === "" || secret.length > this.options.maxLength) {
      return send(res, 400, this.form(secret === "" ? "Type it in, then send." : `At most ${this.options.maxLength} characters.`));
    }
    this.state = "used";
    this.resolve({ secret, remember: this.options.remember !== undefined && form.get("remember") === "on" });
    res.once("finish", () => this.close());
    send(res, 200, page("Received", "<p>Received. ssh-mcp is using it now; you can close this tab and go back to your MCP client.</p>"));
  }

  private form(problem?: string): string {
    const o = this.options;
    const remember = o.remember
      ? `<p><label><input type="checkbox" name="remember"> ${escape(o.remember)}</label></p>`
      : "";
    return page(
      o.title,
      `<p>${escape(o.prompt)}</p>
${problem ? `<p class="problem">${escape(problem)}</p>` : ""}
<form method="post" action="${this.path}" autocomplete="off">
<input type="hidden" name="token" value="${this.formToken}">
<p><label>${escape(o.label)}<br><input type="password" name="secret" maxlength="${o.maxLength}" autofocus required></label></p>
${remember}
<p><button type="submit">Send</button></p>
</form>
<p class="note">This page is served by ssh-mcp on your own machine and works once. What you type goes to ssh-mcp only, never to the model or the MCP client.</p>`,
    );
  }
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, HEADERS);
  res.end(html);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Answer now and drop the connection once the answer is out: no more of it is read.
        req.removeAllListeners("data");
        return reject(new Error("too large"));
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><title>${escape(title)} - ssh-mcp</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34em;margin:3em auto;padding:0 1em;color:#222}
input[type=password]{font:inherit;width:100%;padding:.4em;box-sizing:border-box}button{font:inherit;padding:.4em 1.2em}
.note{color:#666;font-size:.9em}.problem{color:#a00}</style></head>
<body><h1>${escape(title)}</h1>
${body}
</body></html>
`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
