import { briefCommand, formatDuration, type CommandReport } from "./command.js";
import { CommandCancelledError, CommandTimeoutError, SessionEndedError } from "./session-errors.js";
import type { CommandResult } from "./shell-session.js";

/** A report in words: what exec, read-output and interrupt show. */
export interface ReportText {
  text: string;
  /** True when the command failed, timed out or lost its session. */
  isError: boolean;
}

/**
 * How a report reads. An ended command reads exactly as exec has always answered; one still
 * running starts with one status line that says what to call next.
 */
export function describeReport(report: CommandReport, sessionId: string): ReportText {
  const { output } = report;
  if (report.error) return { text: report.error.message, isError: true };
  switch (report.status) {
    case "running": {
      const status =
        `[ssh-mcp: ${briefCommand(report.command)} is still running after ${formatDuration(report.elapsedMs)}. ` +
        `Call read-output with session_id '${sessionId}' for more output and its exit status, or interrupt to stop it.` +
        (output ? " Output since the last result follows.]" : " No new output.]");
      return { text: output ? `${status}\n${output}` : status, isError: false };
    }
    case "exited":
      if (report.exitCode === 0) return { text: output, isError: false };
      return {
        text: output
          ? `Command failed with exit code ${report.exitCode}. Output:\n${output}`
          : `Command failed with exit code ${report.exitCode} and printed nothing.`,
        isError: true,
      };
    case "timed_out":
      return { text: new CommandTimeoutError(report.timeoutMs, output, report.sessionKept).message, isError: true };
    case "interrupted":
      if (!report.sessionKept) return { text: new CommandCancelledError(output, false).message, isError: true };
      return {
        text:
          `Interrupted ${briefCommand(report.command)} after ${formatDuration(report.elapsedMs)}; the session keeps its working directory, variables and background jobs.` +
          (output ? `\nOutput since the last result:\n${output}` : ""),
        isError: false,
      };
    case "session_ended":
      return { text: new SessionEndedError(sessionId, report.reason ?? "it ended", output).message, isError: true };
  }
}

/** An ended command as the library's exec returns it: the result on any exit, a typed error otherwise. */
export function resultOf(report: CommandReport, sessionId: string): CommandResult {
  if (report.error) throw report.error;
  switch (report.status) {
    case "exited":
      return { exitCode: report.exitCode ?? -1, output: report.output };
    case "timed_out":
      throw new CommandTimeoutError(report.timeoutMs, report.output, report.sessionKept);
    case "interrupted":
      throw new CommandCancelledError(report.output, report.sessionKept);
    case "session_ended":
      throw new SessionEndedError(sessionId, report.reason ?? "it ended", report.output);
    case "running":
      throw new Error("resultOf: the command is still running");
  }
}
