import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { boundedString, wholeNumber } from "../../bounded-schemas.js";
import { MAX_COMMAND_BYTES, MAX_TIMER_MS } from "../../config.js";
import { MAX_LENGTH } from "../../hosts/host-fields.js";
import { MAX_SESSION_ID_LENGTH, type SessionInfo, type SessionManager } from "../../session/session-manager.js";
import { briefCommand, formatDuration } from "../../session/command.js";
import type { HostDirectory } from "../../hosts/host-directory.js";
import { commandApprover, secretAsker } from "../elicitation.js";
import { commandOutputSchema, commandResult, idleResult, progressSender } from "../command-result.js";
import { sudoRequest, sudoUserSchema } from "../../session/sudo.js";
import { safely, textResult } from "../tool-result.js";
import { toolInput } from "./tool-input.js";

const sessionId = boundedString(MAX_SESSION_ID_LENGTH);

function describeSession(s: SessionInfo): string {
  const running = s.running ? `\trunning ${briefCommand(s.running.command)} for ${formatDuration(s.running.forMs)}` : "";
  return `${s.sessionId}\t${s.hostId}\t${s.target}\tstarted ${s.startedAt}\tlast used ${s.lastUsedAt}${running}`;
}

/** start-session, list-sessions, exec, read-output, interrupt, close-session. */
export function registerSessionTools(server: McpServer, sessions: SessionManager, hosts: HostDirectory, log: (m: string) => void): void {
  server.registerTool(
    "start-session",
    {
      title: "Start SSH session",
      description:
        "Connect to a saved host and open a persistent shell. Returns the session id to pass to exec. Working directory, environment variables and background jobs persist between exec calls in one session. " +
        "If the host needs a password that is not stored, the user is asked for it on a local web page (never ask the user to type it into the chat).",
      inputSchema: toolInput({
        host_id: boundedString(MAX_LENGTH.host_id).describe("Id of a host from list-hosts (saved, or a ~/.ssh/config alias)"),
        sessionId: sessionId.optional().describe("Id to give the session; a UUID is generated if omitted"),
      }),
      outputSchema: { sessionId: z.string(), hostId: z.string(), target: z.string() },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    safely(log, async ({ host_id, sessionId }) => {
      // A password or passphrase the host lacks is asked of the person, on a page of ours, if the client can open one.
      const s = await sessions.start(host_id, sessionId, { askSecret: secretAsker(server.server, hosts, log) });
      return textResult(s.sessionId, { sessionId: s.sessionId, hostId: s.hostId, target: s.target });
    }),
  );

  server.registerTool(
    "list-sessions",
    {
      title: "List SSH sessions",
      description: "List live sessions: id, host id, user@host:port, when started and last used, and any command still running.",
      inputSchema: toolInput({}),
      outputSchema: {
        sessions: z.array(
          z.object({
            sessionId: z.string(),
            hostId: z.string(),
            target: z.string(),
            startedAt: z.string(),
            lastUsedAt: z.string(),
            running: z.object({ command: z.string(), forMs: z.number() }).optional(),
          }),
        ),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    safely(log, async () => {
      const list = sessions.list();
      const text = list.length ? list.map(describeSession).join("\n") : "No live sessions. Start one with start-session.";
      return textResult(text, { sessions: list });
    }),
  );

  server.registerTool(
    "exec",
    {
      title: "Run command",
      description:
        "Run a shell command in a session (stdout and stderr together; stdin is empty, so pass -y instead of answering prompts). " +
        "If it ends within yield_ms you get its output; a non-zero exit is an error with the code. If it is still running, you get the output so far " +
        "and it keeps running: call read-output until it is done, or interrupt to stop it. One command at a time per session; " +
        "work that must outlive the session belongs in the background with a log file (nohup cmd > log 2>&1 &). " +
        "sudo: true runs the command as root (or sudo_user) through sudo, in the session's directory but in a child shell: cd and variables it sets do not persist. " +
        "A sudo password, if needed, is the user's to give (stored with ssh-mcp hosts edit ID --ask-sudo-password, or typed on a local page): never put one in a command.",
      inputSchema: toolInput({
        session_id: sessionId.describe("Session id from start-session"),
        // Characters, not bytes: the byte limit is checked before sending, with a message that says how to split.
        command: boundedString(MAX_COMMAND_BYTES).describe("Shell command line; may span several lines"),
        timeout_ms: wholeNumber(1, MAX_TIMER_MS)
          .optional()
          .describe("Stop the command after this many milliseconds in all (default SSH_MCP_EXEC_TIMEOUT_MS, 30 minutes)"),
        yield_ms: wholeNumber(0, MAX_TIMER_MS)
          .optional()
          .describe("Hand back after this many milliseconds if still running (default SSH_MCP_EXEC_YIELD_MS, 30000)"),
        sudo: z.boolean({ error: "must be true or false" }).optional().describe("Run the command through sudo (as root unless sudo_user)"),
        sudo_user: sudoUserSchema.optional().describe("User to run as with sudo (default root)"),
      }),
      outputSchema: commandOutputSchema,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    safely(log, async ({ session_id, command, timeout_ms, yield_ms, sudo, sudo_user }, extra) => {
      const asUser = sudoRequest(sudo, sudo_user);
      const report = await sessions.run(session_id, command, {
        ...(asUser && { sudo: asUser }),
        approve: commandApprover(server.server),
        askSecret: secretAsker(server.server, hosts, log),
        timeoutMs: timeout_ms,
        yieldMs: yield_ms,
        signal: extra.signal,
        onProgress: progressSender(extra),
      });
      return commandResult(report, session_id);
    }),
  );

  server.registerTool(
    "read-output",
    {
      title: "Read command output",
      description:
        "Follow a command that exec handed back while it was still running: waits up to wait_ms for it to end and returns what it printed " +
        "since the last result. Once it has ended you get its final result (exit code, or the error) exactly once.",
      inputSchema: toolInput({
        session_id: sessionId.describe("Session id from start-session"),
        wait_ms: wholeNumber(0, MAX_TIMER_MS)
          .optional()
          .describe("Wait this long for the command to end (default SSH_MCP_EXEC_YIELD_MS, 30000); 0 returns at once"),
      }),
      outputSchema: commandOutputSchema,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    safely(log, async ({ session_id, wait_ms }, extra) => {
      const report = await sessions.readOutput(session_id, wait_ms, { signal: extra.signal, onProgress: progressSender(extra) });
      if (!report) return idleResult(session_id, `Nothing is running in session '${session_id}' and there is no unread output.`);
      return commandResult(report, session_id);
    }),
  );

  server.registerTool(
    "interrupt",
    {
      title: "Interrupt command",
      description:
        "Stop the command running in a session, as Ctrl-C would but surely (the whole process tree), and return its remaining output. " +
        "The session keeps its working directory, variables and earlier background jobs.",
      inputSchema: toolInput({ session_id: sessionId.describe("Session id from start-session") }),
      outputSchema: commandOutputSchema,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    safely(log, async ({ session_id }) => {
      const report = await sessions.interrupt(session_id);
      if (!report) return idleResult(session_id, `Nothing was running in session '${session_id}'.`);
      return commandResult(report, session_id);
    }),
  );

  server.registerTool(
    "close-session",
    {
      title: "Close SSH session",
      description: "Close a session's shell and connection. Its working directory, variables and shell jobs are lost.",
      inputSchema: toolInput({ sessionId: sessionId.describe("Id of the session to close") }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    safely(log, async ({ sessionId }) => {
      await sessions.close(sessionId);
      return textResult(`Closed session '${sessionId}'.`);
    }),
  );
}
