import { randomBytes } from "node:crypto";
import type { ClientChannel } from "ssh2";
import { SshMcpError } from "../errors.js";
import type { OutputFilter } from "./command.js";
import { boundedString } from "../bounded-schemas.js";
import type { CommandResult } from "./shell-session.js";
import { sudoPipeCleanupScript, sudoPipeScript, sudoScript, type SudoTokens } from "./shell-script.js";
import { InvalidCommandError } from "./session-errors.js";
import { SudoFailedError, SudoNotInstalledError, SudoPipeError, SudoPasswordRequiredError, SudoWrongPasswordError } from "./sudo-errors.js";

/**
 * Running an exec through sudo without the model, or anything on the host, seeing the password.
 *
 * Without a stored sudoPassword, sudo runs with `-n`: a NOPASSWD rule or cached credentials let
 * the command run, and a rule that wants a password fails at once with a hint to store one.
 *
 * With one, the password takes this path, and no other:
 *
 *   ssh-mcp --(second SSH channel's stdin)--> cat --(FIFO in a 0700 mktemp -d dir)--> sudo -S
 *
 * 1. openSudoPipe, only when the command's turn in the session comes (ShellSession.runSudo), so
 *    the password never waits on the host behind earlier commands: a side channel runs
 *    sudoPipeScript, which makes the private directory and FIFO, reports "PID DIR", and waits in
 *    open() for a reader; we write the password and a newline to the channel and close its stdin.
 *    The password is in no process's arguments or environment, in no file (a FIFO holds nothing
 *    on disk), and never in the session shell's input.
 * 2. The command sent (sudoScript) opens the FIFO as sudo's stdin, unlinks the directory, and runs
 *    `sudo -S -p TOKEN -u USER -- /bin/sh -c '...' sh $SHELL COMMAND` in the session's working directory.
 *    That shell prints a random "started" token, switches its stdin to /dev/null and runs the
 *    command with the account's login shell ($SHELL -c): the command never reads the pipe, and
 *    what it changes dies with the child.
 * 3. sudo reads one line. If it asks again, the pipe is at end of file, so a wrong password fails at
 *    once (after PAM's delay) instead of waiting; its prompt is a random token, so readSudoResult
 *    can tell a second prompt, a refusal and a missing sudo from the command's own output, and
 *    strips what sudo printed before the command started.
 * 4. release(): a pipe script whose FIFO was never opened (the command never ran) is stopped and
 *    its directory removed.
 * 5. A timeout or cancel interrupts sudo like any command; sudo passes SIGINT and SIGTERM on to
 *    the target user's shell (our account may not signal its processes), whose trap stops the
 *    command's whole tree (see sudoChild in shell-script.ts).
 *
 * Limits, by design: processes of the same remote account could open the FIFO in the moment
 * between 1 and 2 (that account could equally run sudo itself); the sudoers rule must allow
 * /bin/sh as a command (as `ALL` does).
 */

/** Longest sudo_user: the longest user name useradd accepts. */
export const MAX_SUDO_USER_LENGTH = 32;
/** sudo passes the command as one argument, and Linux caps one argument at 128 KiB. */
export const MAX_SUDO_COMMAND_BYTES = 100 * 1024;

/** The sudo_user argument of exec: a user name or #uid. */
export const sudoUserSchema = boundedString(MAX_SUDO_USER_LENGTH);

const USER_NAME = /^(?:#\d{1,10}|[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?)$/;

/** What exec asks for: run the command as `user` through sudo. */
export interface SudoRequest {
  user: string;
}

/** exec's sudo and sudo_user arguments as a SudoRequest (undefined without sudo); InvalidCommandError when they do not fit. */
export function sudoRequest(sudo: boolean | undefined, sudoUser: string | undefined): SudoRequest | undefined {
  if (!sudo) {
    if (sudoUser !== undefined) throw new InvalidCommandError(`sudo_user '${sudoUser}' was given without sudo: true. Add sudo: true, or leave sudo_user out.`);
    return undefined;
  }
  const user = sudoUser ?? "root";
  if (!USER_NAME.test(user)) {
    throw new InvalidCommandError(`Invalid sudo_user '${user}': give a user name on the host (letters, digits, . _ -) or #uid, or leave it out for root.`);
  }
  return { user };
}

/** One sudo command's tokens and what it was sent with, for readSudoResult. */
export interface SudoPlan {
  /** The text to run in the session's shell instead of the command. */
  script: string;
  tokens: SudoTokens;
  user: string;
  withPassword: boolean;
}

/** InvalidCommandError for a command sudo cannot take (longer than MAX_SUDO_COMMAND_BYTES). */
export function checkSudoCommand(command: string): void {
  const bytes = Buffer.byteLength(command, "utf8");
  if (bytes > MAX_SUDO_COMMAND_BYTES) {
    throw new InvalidCommandError(
      `The command is ${bytes} bytes; with sudo the limit is ${MAX_SUDO_COMMAND_BYTES} (sudo passes it as one argument). ` +
        `Write it to a file in one exec, then run the file with sudo.`,
    );
  }
}

/** Turn `command` into what the session's shell runs (see the module comment); `fifo` is the pipe's path when a password is fed. */
export function planSudo(command: string, request: SudoRequest, fifo?: string): SudoPlan {
  checkSudoCommand(command);
  const id = randomBytes(8).toString("hex");
  const tokens: SudoTokens = { prompt: `__MCP_${id}_P`, started: `__MCP_${id}_S`, missing: `__MCP_${id}_M` };
  return { script: sudoScript(command, request.user, tokens, fifo), tokens, user: request.user, withPassword: fifo !== undefined };
}

/** Who is asking, for messages: the host_id and the account. */
export interface SudoContext {
  hostId: string;
  target: string;
}

/**
 * The command's own result, without what sudo printed before it started; a typed error when it
 * never started (wrong or missing password, refused by sudoers, no sudo on the host).
 */
export function readSudoResult(result: CommandResult, plan: SudoPlan, context: SudoContext): CommandResult {
  const { tokens } = plan;
  const startedAt = result.output.indexOf(`${tokens.started}\n`);
  if (startedAt >= 0) {
    return { exitCode: result.exitCode, output: result.output.slice(startedAt + tokens.started.length + 1) };
  }
  const said = result.output.replaceAll(tokens.prompt, "").trim();
  if (result.output.includes(tokens.missing)) throw new SudoNotInstalledError(context);
  const prompts = result.output.split(tokens.prompt).length - 1;
  if (plan.withPassword && (prompts >= 2 || /incorrect password/i.test(said))) throw new SudoWrongPasswordError(context);
  if (!plan.withPassword && /password is required/i.test(said)) throw new SudoPasswordRequiredError(context);
  throw new SudoFailedError(context, plan.user, said, result.exitCode);
}

/** The FIFO a password waits in, and how to clean up after the command. */
export interface SudoPipe {
  path: string;
  /** Stop the pipe script if the command never opened the FIFO, and remove its directory. */
  release(): Promise<void>;
}

/** How the session runs a script on a second channel of its connection. */
export type OpenChannel = (script: string) => Promise<ClientChannel>;

// A path as mktemp -d prints it: nothing that needs more than quoting, and no surprises in it.
const TEMP_DIR = /^\/[A-Za-z0-9._\/-]{1,1024}$/;
const PIPE_START_MS = 10_000;

/** Start the pipe script (sudoPipeScript) and hand it the password; resolves once the FIFO exists. */
export async function openSudoPipe(open: OpenChannel, password: string): Promise<SudoPipe> {
  const channel = await open(sudoPipeScript());
  let closed = false;
  const gone = new Promise<void>((resolve) =>
    channel.on("close", () => {
      closed = true;
      resolve();
    }),
  );
  channel.stderr.resume();
  const line = await new Promise<string>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new SudoPipeError("the host did not create a private FIFO for it in time")), PIPE_START_MS);
    const onData = (chunk: Buffer) => {
      text += chunk.toString("latin1");
      const nl = text.indexOf("\n");
      if (nl < 0 && text.length < 2048) return;
      clearTimeout(timer);
      channel.off("data", onData);
      channel.resume();
      resolve(nl < 0 ? text : text.slice(0, nl));
    };
    channel.on("data", onData);
    void gone.then(() => {
      clearTimeout(timer);
      reject(new SudoPipeError("mktemp -d and mkfifo must work on the host"));
    });
  });
  const [pidText, dir] = line.split(" ");
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 1 || dir === undefined || !TEMP_DIR.test(dir)) {
    channel.close();
    throw new SudoPipeError(`the host answered ${JSON.stringify(line.slice(0, 80))} instead of a pid and a directory`);
  }
  // cat copies this to the FIFO once sudo's side opens it; then end of file, so sudo cannot read a second try.
  channel.end(`${password}\n`);
  return {
    path: `${dir}/p`,
    async release() {
      if (closed) return;
      await open(sudoPipeCleanupScript(pid, dir)).then(
        (cleanup) =>
          new Promise<void>((resolve) => {
            cleanup.on("close", () => resolve());
            cleanup.resume();
            cleanup.stderr.resume();
          }),
        () => undefined,
      );
      channel.close();
    },
  };
}

/** Most of sudo's own output (its prompt, a refusal) kept while waiting for the command to start. */
const MAX_PRELUDE_BYTES = 64 * 1024;

/**
 * The output of a sudo command as it streams: nothing until the "started" token (what sudo
 * printed before is its own), then the command's output as it comes, so a handed-back sudo
 * command reads like any other. If it ended without starting, the typed error readSudoResult gives.
 */
export function sudoOutputFilter(plan: SudoPlan, context: SudoContext): OutputFilter {
  const needle = Buffer.from(`${plan.tokens.started}\n`);
  let started = false;
  let prelude = Buffer.alloc(0);
  return {
    pass(chunk) {
      if (started) return chunk;
      prelude = Buffer.concat([prelude, chunk]);
      const at = prelude.indexOf(needle);
      if (at < 0) {
        if (prelude.length > MAX_PRELUDE_BYTES) prelude = prelude.subarray(prelude.length - MAX_PRELUDE_BYTES);
        return undefined;
      }
      started = true;
      const rest = prelude.subarray(at + needle.length);
      prelude = Buffer.alloc(0);
      return rest;
    },
    failure(exitCode) {
      if (started) return undefined;
      try {
        readSudoResult({ exitCode, output: prelude.toString("utf8") }, plan, context);
        return undefined;
      } catch (error) {
        return error instanceof SshMcpError ? error : undefined;
      }
    },
  };
}
