import { SshMcpError, listSome } from "../errors.js";
import { briefCommand, formatDuration, type CommandReport } from "./command.js";

/** No live session has this id. */
export class SessionNotFoundError extends SshMcpError {
  constructor(
    readonly sessionId: string,
    readonly liveIds: string[],
    /** Why the session is gone, when it existed and ended. */
    readonly endedReason?: string,
  ) {
    const what = endedReason
      ? `Session '${sessionId}' is gone: ${endedReason}.`
      : `No session '${sessionId}'.`;
    const live = liveIds.length ? ` Live sessions: ${listSome(liveIds, "list-sessions")}.` : "";
    super(`${what}${live} Start a new one with start-session.`);
  }
}

/** start-session was given an id already in use. */
export class DuplicateSessionError extends SshMcpError {
  constructor(readonly sessionId: string) {
    super(`A session '${sessionId}' is already open. Choose another sessionId, or omit it to get a fresh UUID.`);
  }
}

/** start-session would open more sessions than SSH_MCP_MAX_SESSIONS allows. */
export class TooManySessionsError extends SshMcpError {
  constructor(readonly max: number) {
    super(
      `${max} sessions are open or starting, the most SSH_MCP_MAX_SESSIONS allows. ` +
        `Close one you no longer need with close-session (list-sessions shows them), then try again.`,
    );
  }
}

/** A command refused before anything was sent. */
export class InvalidCommandError extends SshMcpError {}

/** The command ran past its time limit and was interrupted. */
export class CommandTimeoutError extends SshMcpError {
  constructor(
    readonly timeoutMs: number,
    readonly output: string,
    /** False when the command could not be stopped and the session had to be closed. */
    readonly sessionKept: boolean,
  ) {
    const after = sessionKept
      ? "It was interrupted; the session is still open with its working directory, variables and background jobs."
      : `${SHELL_LOST} Start a new one with start-session.`;
    super(
      `Command timed out after ${timeoutMs} ms. ${after} For longer commands pass a larger timeout_ms, or run them in the background (nohup cmd > log 2>&1 &).` +
        (output ? `\nOutput so far:\n${output}` : "\nNo output so far."),
    );
  }
}

/** The command was cancelled by the caller (for example the MCP client gave up). */
export class CommandCancelledError extends SshMcpError {
  constructor(
    readonly output: string,
    readonly sessionKept = true,
  ) {
    const after = sessionKept ? "the session is still open." : `${SHELL_LOST} Start a new one with start-session.`;
    super(`Command cancelled and interrupted; ${after}${output ? `\nOutput so far:\n${output}` : ""}`);
  }
}

/** Why a session can be lost to an interrupt: the shell never printed the command's end. */
const SHELL_LOST =
  "The command was stopped, but its shell did not answer afterwards, so the session was closed. " +
  "That happens when the command redirected or replaced the shell itself (exec >file, exec bash).";

/** The session's shell or connection ended, during a command or between commands. */
export class SessionEndedError extends SshMcpError {
  constructor(
    readonly sessionId: string,
    readonly reason: string,
    readonly output: string,
  ) {
    // Agents often paste scripts that start with `set -e` or end with `exit`; say how to keep the shell.
    const hint = /exited with status/.test(reason)
      ? " Commands run in the session's own shell, so `exit`, `exec` (which replaces the shell), a failure under `set -e` or an unset variable under `set -u` end it: " +
        "wrap such scripts in ( ... ) or bash -c '...' to keep the session."
      : "";
    super(
      `Session '${sessionId}' ended: ${reason}. It has been removed; start a new one with start-session.${hint}` +
        (output ? `\nOutput before it ended:\n${output}` : ""),
    );
  }
}

/** The remote login shell did not answer like a POSIX shell. */
export class ShellStartError extends SshMcpError {}

/** A command is still running in the session; nothing new was sent. */
export class SessionBusyError extends SshMcpError {
  constructor(
    readonly sessionId: string,
    readonly command: string,
    readonly elapsedMs: number,
  ) {
    super(
      `Session '${sessionId}' is still running ${briefCommand(command)} (for ${formatDuration(elapsedMs)}), so nothing was run. ` +
        `Call read-output to wait for it and see its output, interrupt to stop it, or use another session (start-session) to work alongside it.`,
    );
  }
}

/**
 * The previous command ended while nobody was reading it, and its ending had not been reported:
 * this error reports it (once), and nothing new was run, so a failed build never goes unseen.
 */
export class UnreadEndingError extends SshMcpError {
  constructor(
    readonly sessionId: string,
    readonly report: CommandReport,
    reportText: string,
  ) {
    super(
      `Nothing was run: the previous command in session '${sessionId}', ${briefCommand(report.command)}, ended while nobody was reading it. ` +
        `Its result follows; send your command again to run it.\n${reportText}`,
    );
  }
}

/** A caller stopped waiting for output; the command itself was left running and its output unread. */
export class WaitCancelledError extends SshMcpError {
  constructor() {
    super("The wait for output was cancelled; the command keeps running and its output stays unread.");
  }
}
