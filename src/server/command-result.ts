import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { CallToolResult, ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { CommandReport } from "../session/command.js";
import { describeReport } from "../session/command-report.js";
import type { Progress } from "../session/progress.js";

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What exec, read-output and interrupt return as structuredContent. */
export const commandOutputSchema = {
  sessionId: z.string(),
  status: z.enum(["running", "exited", "timed_out", "interrupted", "session_ended", "idle"]),
  command: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  output: z.string(),
  outputTruncated: z.boolean(),
  omittedBytes: z.number().int().nonnegative(),
  elapsedMs: z.number().nonnegative().nullable(),
};

/** A command report as a tool result: the text exec has always given, plus structured content. */
export function commandResult(report: CommandReport, sessionId: string): CallToolResult {
  const { text, isError } = describeReport(report, sessionId);
  const structuredContent = {
    sessionId,
    status: report.status,
    command: report.command,
    exitCode: report.exitCode,
    output: report.output,
    outputTruncated: report.omittedBytes > 0,
    omittedBytes: report.omittedBytes,
    elapsedMs: report.elapsedMs,
  };
  return isError ? { content: [{ type: "text", text }], structuredContent, isError } : { content: [{ type: "text", text }], structuredContent };
}

/** The result when a session has nothing running and nothing unread. */
export function idleResult(sessionId: string, text: string): CallToolResult {
  return {
    content: [{ type: "text", text }],
    structuredContent: { sessionId, status: "idle", command: null, exitCode: null, output: "", outputTruncated: false, omittedBytes: 0, elapsedMs: null },
  };
}

/** Sends progress notifications for this request, if the client asked for them with a progressToken. */
export function progressSender(extra: Extra): ((progress: Progress) => void) | undefined {
  const token = extra._meta?.progressToken;
  if (token === undefined) return undefined;
  return ({ elapsedMs, message }) => {
    const params = message === undefined ? { progressToken: token, progress: elapsedMs } : { progressToken: token, progress: elapsedMs, message };
    // A client that went away cannot take notifications; its request ends on its own.
    extra.sendNotification({ method: "notifications/progress", params }).catch(() => undefined);
  };
}
