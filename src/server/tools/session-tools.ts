import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { boundedString, wholeNumber } from "../../bounded-schemas.js";
import { MAX_COMMAND_BYTES, MAX_TIMER_MS } from "../../config.js";
import { MAX_LENGTH } from "../../hosts/host-fields.js";
import { MAX_SESSION_ID_LENGTH, type SessionInfo, type SessionManager } from "../../session/session-manager.js";
import { sudoRequest, sudoUserSchema } from "../../session/sudo.js";
import { safely, textResult } from "../tool-result.js";
import { toolInput } from "./tool-input.js";

const sessionId = boundedString(MAX_SESSION_ID_LENGTH);

function describeSession(s: SessionInfo): string {
  return `${s.sessionId}\t${s.hostId}\t${s.target}\tstarted ${s.startedAt}\tlast used ${s.lastUsedAt}`;
}

/** start-session, list-sessions, exec, close-session. */
export function registerSessionTools(server: McpServer, sessions: SessionManager, log: (m: string) => void): void {
  server.registerTool(
    "start-session",
    {
      title: "Start SSH session",
      description:
        "Connect to a saved host and open a persistent shell. Returns the session id to pass to exec. Working directory, environment variables and background jobs persist between exec calls in one session.",
      inputSchema: toolInput({
        host_id: boundedString(MAX_LENGTH.host_id).describe("Id of a host from list-hosts (saved, or a ~/.ssh/config alias)"),
        sessionId: sessionId.optional().describe("Id to give the session; a UUID is generated if omitted"),
      }),
      outputSchema: { sessionId: z.string(), hostId: z.string(), target: z.string() },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    safely(log, async ({ host_id, sessionId }) => {
      const s = await sessions.start(host_id, sessionId);
      return textResult(s.sessionId, { sessionId: s.sessionId, hostId: s.hostId, target: s.target });
    }),
  );

  server.registerTool(
    "list-sessions",
    {
      title: "List SSH sessions",
      description: "List live sessions: id, host id, user@host:port, when started and last used.",
      inputSchema: toolInput({}),
      outputSchema: {
        sessions: z.array(
          z.object({ sessionId: z.string(), hostId: z.string(), target: z.string(), startedAt: z.string(), lastUsedAt: z.string() }),
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
        "Run a shell command in a session and return its output (stdout and stderr together). stdin is empty, so nothing waits for input. " +
        "A non-zero exit status is returned as an error with the status and output. Long output keeps its head and tail. " +
        "Commands in one session run one at a time; use timeout_ms for long-running commands or run them in the background. " +
        "sudo: true runs the command as root (or sudo_user) through sudo, in the session's directory but in a child shell: cd and variables it sets do not persist. " +
        "A sudo password, if needed, must be stored by the user (ssh-mcp hosts edit ID --ask-sudo-password); never put one in a command.",
      inputSchema: toolInput({
        session_id: sessionId.describe("Session id from start-session"),
        // Characters, not bytes: the byte limit is checked before sending, with a message that says how to split.
        command: boundedString(MAX_COMMAND_BYTES).describe("Shell command line; may span several lines"),
        timeout_ms: wholeNumber(1, MAX_TIMER_MS)
          .optional()
          .describe("Interrupt the command after this many milliseconds (default SSH_MCP_EXEC_TIMEOUT_MS, 60000)"),
        sudo: z.boolean({ error: "must be true or false" }).optional().describe("Run the command through sudo (as root unless sudo_user)"),
        sudo_user: sudoUserSchema.optional().describe("User to run as with sudo (default root)"),
      }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    safely(log, async ({ session_id, command, timeout_ms, sudo, sudo_user }, extra) => {
      const asUser = sudoRequest(sudo, sudo_user);
      const result = await sessions.exec(session_id, command, { timeoutMs: timeout_ms, signal: extra.signal, ...(asUser && { sudo: asUser }) });
      if (result.exitCode === 0) return textResult(result.output);
      const text = result.output
        ? `Command failed with exit code ${result.exitCode}. Output:\n${result.output}`
        : `Command failed with exit code ${result.exitCode} and printed nothing.`;
      return { content: [{ type: "text", text }], isError: true };
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
