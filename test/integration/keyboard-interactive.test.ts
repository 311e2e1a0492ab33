// A host's password is for its password prompt only: against an ssh2 server that asks other
// keyboard-interactive questions, ssh-mcp must not hand the password to them.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ssh2 from "ssh2";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AuthenticationError } from "../../src/lib.js";
import { connect } from "../../src/ssh/connect.js";
import { HostKeyTrust } from "../../src/ssh/host-key-trust.js";
import { keygen } from "../support/sshd.js";

type Prompt = { prompt: string; echo: boolean };
const PASSWORD = "s3cret-pw";

let dir: string;
let server: InstanceType<typeof ssh2.Server>;
let port: number;
/** The rounds of prompts the server sends next; each answer set is recorded in `answers`. */
let rounds: Prompt[][];
let answers: string[][];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ssh-mcp-kbd-"));
  keygen(join(dir, "host_key"));
  server = new ssh2.Server({ hostKeys: [readFileSync(join(dir, "host_key"))] }, (client) => {
    client.on("error", () => undefined);
    client.on("authentication", (ctx) => {
      if (ctx.method !== "keyboard-interactive") return ctx.reject(["keyboard-interactive"]);
      const ask = (remaining: Prompt[][]): void => {
        if (remaining.length === 0) return ctx.reject();
        ctx.prompt(remaining[0]!, "", "", (given: string[]) => {
          answers.push(given);
          // Accept only a lone password prompt answered with the password.
          const [only] = remaining[0]!;
          if (remaining[0]!.length === 1 && /password/i.test(only!.prompt) && given[0] === PASSWORD) return ctx.accept();
          ask(remaining.slice(1));
        });
      };
      ask(rounds);
    });
    client.on("ready", () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  answers = [];
});

/** Log in with the password; resolves to the error, or undefined on success. */
async function login(): Promise<unknown> {
  const trust = new HostKeyTrust({ knownHostsFile: join(dir, "known_hosts"), userKnownHostsFiles: [], policy: "accept-new" });
  const host = { host_id: "kbd", host: "127.0.0.1", port, username: "u", password: PASSWORD };
  try {
    const client = await connect(host, { trust, connectTimeoutMs: 5000, keepaliveIntervalMs: 0, keepaliveCountMax: 3 });
    client.end();
    return undefined;
  } catch (error) {
    return error;
  }
}

describe("keyboard-interactive", () => {
  it("answers a lone hidden password prompt with the password", async () => {
    rounds = [[{ prompt: "Password: ", echo: false }]];
    expect(await login()).toBeUndefined();
    expect(answers).toEqual([[PASSWORD]]);
  });

  it("answers an empty round with nothing, then the password prompt", async () => {
    rounds = [[], [{ prompt: "Password for u@host: ", echo: false }]];
    expect(await login()).toBeUndefined();
    expect(answers).toEqual([[], [PASSWORD]]);
  });

  it.each<[string, Prompt[]]>([
    ["a one-time code", [{ prompt: "Verification code: ", echo: false }]],
    ["a password and a code at once", [{ prompt: "Password: ", echo: false }, { prompt: "OTP: ", echo: false }]],
    ["a password prompt that would echo it", [{ prompt: "Password: ", echo: true }]],
  ])("never sends the password to %s, and fails authentication cleanly", async (_name, prompts) => {
    rounds = [prompts];
    const error = await login();
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(JSON.stringify(answers)).not.toContain(PASSWORD);
  });
});
