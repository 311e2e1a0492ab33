import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { boundedString, wholeNumber } from "../../bounded-schemas.js";
import { MAX_COMMAND_BYTES } from "../../config.js";
import { DEFAULT_READ_LINES, type ReadResult, type TransferResult } from "../../files/remote-files.js";
import { MAX_SESSION_ID_LENGTH, type SessionManager } from "../../session/session-manager.js";
import { commandApprover } from "../elicitation.js";
import { safely, textResult } from "../tool-result.js";
import { toolInput } from "./tool-input.js";

/** Longest path accepted (Linux's PATH_MAX). */
export const MAX_PATH_LENGTH = 4096;
/** Most lines one read-file call may ask for. */
export const MAX_READ_LINES = 100_000;
/** Text a write-file or edit-file call may carry: the same as an exec command, which could write it with a heredoc. */
export const MAX_FILE_TEXT = MAX_COMMAND_BYTES;
/** At most one progress notification per this many milliseconds, plus the last. */
const PROGRESS_INTERVAL_MS = 100;

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

const sessionId = boundedString(MAX_SESSION_ID_LENGTH).describe("Session id from start-session");
const remotePath = (what: string) =>
  boundedString(MAX_PATH_LENGTH).describe(`${what} on the host: absolute, ~/..., or relative to the session's current directory`);
const localPath = (what: string) =>
  boundedString(MAX_PATH_LENGTH).describe(`${what} on the machine running ssh-mcp: absolute, ~/..., or relative to its working directory`);
const overwrite = z.boolean().optional().describe("Replace an existing file (default false: refuse)");
const transferOutput = { path: z.string(), local_path: z.string(), bytes: z.number(), sha256: z.string() };

/** read-file, write-file, edit-file, upload, download: files over SFTP on the session's connection. */
export function registerFileTools(server: McpServer, sessions: SessionManager, log: (m: string) => void): void {
  server.registerTool(
    "read-file",
    {
      title: "Read remote file",
      description:
        "Read a UTF-8 text file on a session's host, exactly, without quoting trouble. Long files come in pages of lines; a note after the text says how to read on (offset). " +
        "Binary or huge files are refused: use download for those.",
      inputSchema: toolInput({
        session_id: sessionId,
        path: remotePath("File"),
        offset: wholeNumber(1, 2 ** 31 - 1).optional().describe("First line to return, counting from 1 (default 1)"),
        limit: wholeNumber(1, MAX_READ_LINES).optional().describe(`Most lines to return (default ${DEFAULT_READ_LINES})`),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    safely(log, async ({ session_id, path, offset, limit }) => {
      const op = { kind: "read-file", path, argument: "path", writes: false };
      const page = await sessions.fileOperation(session_id, op, (files, at) => files.read(at, { offset, limit }));
      const note = pageNote(page, limit ?? DEFAULT_READ_LINES);
      // The file's text alone in the first block, so it stays exact; the note, if any, after it.
      return note
        ? { content: [{ type: "text", text: page.text }, { type: "text", text: note }] }
        : { content: [{ type: "text", text: page.text }] };
    }),
  );

  server.registerTool(
    "write-file",
    {
      title: "Write remote file",
      description:
        "Create or replace a text file on a session's host with the given content, atomically (readers never see half a file; on error the old file is untouched). " +
        "An existing file keeps its mode and owner. Prefer edit-file to change part of a file.",
      inputSchema: toolInput({
        session_id: sessionId,
        path: remotePath("File"),
        content: boundedString(MAX_FILE_TEXT).describe("The whole new content (UTF-8)"),
        mode: boundedString(4)
          .regex(/^[0-7]{3,4}$/, { error: "must be octal permission digits such as 644 or 0755" })
          .optional()
          .describe("Permissions in octal, e.g. 644 or 0755 (default: keep the existing file's, or the host's default)"),
        create_dirs: z.boolean().optional().describe("Create missing parent directories (default false)"),
      }),
      outputSchema: { path: z.string(), bytes: z.number(), created: z.boolean() },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    safely(log, async ({ session_id, path, content, mode, create_dirs }) => {
      const op = { kind: "write-file", path, argument: "path", writes: true, approve: commandApprover(server.server) };
      const options = { mode: mode === undefined ? undefined : parseInt(mode, 8), createDirs: create_dirs };
      const r = await sessions.fileOperation(session_id, op, (files, at) => files.write(at, content, options));
      return textResult(`${r.created ? "Created" : "Replaced"} ${r.path} (${r.bytes} bytes).`, { path: r.path, bytes: r.bytes, created: r.created });
    }),
  );

  server.registerTool(
    "edit-file",
    {
      title: "Edit remote file",
      description:
        "Replace an exact piece of text in a file on a session's host. old_text must appear exactly once (whitespace and line endings included) unless replace_all is set; " +
        "otherwise nothing changes and the error says how many times it was found. Atomic, and the file keeps its mode and owner.",
      inputSchema: toolInput({
        session_id: sessionId,
        path: remotePath("File"),
        old_text: boundedString(MAX_FILE_TEXT).describe("Exact text to find"),
        new_text: boundedString(MAX_FILE_TEXT).describe("Text to put in its place"),
        replace_all: z.boolean().optional().describe("Replace every occurrence (default false: old_text must be unique)"),
      }),
      outputSchema: { path: z.string(), replacements: z.number(), bytes: z.number() },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    safely(log, async ({ session_id, path, old_text, new_text, replace_all }) => {
      const op = { kind: "edit-file", path, argument: "path", writes: true, approve: commandApprover(server.server) };
      const r = await sessions.fileOperation(session_id, op, (files, at) => files.edit(at, old_text, new_text, replace_all));
      const times = r.replacements === 1 ? "1 replacement" : `${r.replacements} replacements`;
      return textResult(`Edited ${r.path}: ${times} (now ${r.bytes} bytes).`, { path: r.path, replacements: r.replacements, bytes: r.bytes });
    }),
  );

  server.registerTool(
    "upload",
    {
      title: "Upload file",
      description:
        "Copy a file of any size (text or binary) from the machine running ssh-mcp to a session's host, keeping its mode. Returns bytes and SHA-256. " +
        "An existing remote file is replaced only with overwrite: true; a failed transfer leaves no partial file.",
      inputSchema: toolInput({
        session_id: sessionId,
        local_path: localPath("File to send"),
        remote_path: remotePath("Where to put it"),
        overwrite,
      }),
      outputSchema: transferOutput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    safely(log, async ({ session_id, local_path, remote_path, overwrite }, extra) => {
      const op = { kind: "upload", path: remote_path, argument: "remote_path", writes: true, approve: commandApprover(server.server) };
      const options = { overwrite, signal: extra.signal, onProgress: progressReporter(extra) };
      const r = await sessions.fileOperation(session_id, op, (files, at) => files.upload(local_path, at, options));
      return transferResult(`Uploaded ${r.localPath} to ${r.path}`, r);
    }),
  );

  server.registerTool(
    "download",
    {
      title: "Download file",
      description:
        "Copy a file of any size (text or binary) from a session's host to the machine running ssh-mcp. Returns bytes and SHA-256. " +
        "An existing local file is replaced only with overwrite: true; a failed transfer leaves no partial file.",
      inputSchema: toolInput({
        session_id: sessionId,
        remote_path: remotePath("File to fetch"),
        local_path: localPath("Where to put it"),
        overwrite,
      }),
      outputSchema: transferOutput,
      // Read-only for the host; it writes only on this machine.
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    safely(log, async ({ session_id, remote_path, local_path, overwrite }, extra) => {
      const op = { kind: "download", path: remote_path, argument: "remote_path", writes: false };
      const options = { overwrite, signal: extra.signal, onProgress: progressReporter(extra) };
      const r = await sessions.fileOperation(session_id, op, (files, at) => files.download(at, local_path, options));
      return transferResult(`Downloaded ${r.path} to ${r.localPath}`, r);
    }),
  );
}

/** What follows a page: where it sits in the file and how to read on; empty when the page is the whole file. */
function pageNote(page: ReadResult, limit: number): string {
  const { path, firstLine, lines, totalLines } = page;
  if (totalLines === 0) return `[${path} is empty.]`;
  if (firstLine > totalLines) return `[${path} has ${totalLines} lines; offset ${firstLine} is past the end.]`;
  const last = firstLine + lines - 1;
  if (page.lineCut) {
    const more = last < totalLines ? ` The next line is offset ${last + 1}.` : "";
    return (
      `[Line ${firstLine} of ${path} is longer than this reply allows; only its first ${Buffer.byteLength(page.text)} bytes are shown. ` +
      `Use download, or exec with cut or fold, for the rest.${more}]`
    );
  }
  if (firstLine === 1 && last >= totalLines) return "";
  const why = lines < limit && last < totalLines ? " (the reply's size limit)" : "";
  const more = last < totalLines ? ` To read on, call read-file with offset ${last + 1}.` : "";
  return `[Lines ${firstLine}-${last} of ${totalLines} in ${path}${why}.${more}]`;
}

function transferResult(what: string, r: TransferResult) {
  return textResult(`${what}: ${r.bytes} bytes, SHA-256 ${r.sha256}.`, {
    path: r.path,
    local_path: r.localPath,
    bytes: r.bytes,
    sha256: r.sha256,
  });
}

/** Progress notifications for a request that asked for them (it carries a progressToken), at most one per interval plus the last. */
function progressReporter(extra: Extra): ((done: number, total: number) => void) | undefined {
  const token = extra._meta?.progressToken;
  if (token === undefined) return undefined;
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    extra
      .sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: done, total } })
      .catch(() => undefined);
  };
}
