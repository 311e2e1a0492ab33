import { z } from "zod";
import { canonicalHost, type HostConfig } from "./host-config.js";
import { HostsFileError } from "./host-errors.js";
import { MAX_LENGTH, hostFieldSchemas as f } from "./host-fields.js";

// Strict objects: a misspelt or unknown key is reported rather than silently dropped by the next write.
// The same length limits as add-host: a hand-edited 9 MiB value would make every list-hosts reply too big.
const hostSchema = z.strictObject({
  host_id: f.host_id.min(1),
  host: f.host.min(1),
  port: f.port,
  username: f.username.min(1),
  password: f.password.optional(),
  sudoPassword: f.sudoPassword.optional(),
  keyPath: f.keyPath.optional(),
  hostKey: f.hostKey.optional(),
  agentForward: f.agentForward.optional(),
  proxyJump: f.proxyJump.optional(),
});

const hostsFileSchema = z.strictObject({
  hosts: z.array(hostSchema).superRefine((hosts, ctx) => {
    const seen = new Set<string>();
    hosts.forEach((host, index) => {
      if (seen.has(host.host_id)) {
        ctx.addIssue({ code: "custom", path: [index, "host_id"], message: `duplicate host_id '${host.host_id}'` });
      }
      seen.add(host.host_id);
    });
  }),
});

const EXPECTED_SHAPE = `{"hosts": [{"host_id": "...", "host": "...", "port": 22, "username": "..."}]}`;

/** Parse the text of hosts.json; empty text means no hosts. Throws HostsFileError naming `file`. */
export function parseHostsFile(text: string, file: string): HostConfig[] {
  // Editors on Windows may add a byte-order mark, which JSON.parse rejects.
  const body = text.replace(/^\uFEFF/, "");
  if (body.trim() === "") return [];
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (error) {
    // The SyntaxError is not kept as cause: V8 quotes the surrounding text, which may contain a password.
    throw new HostsFileError(file, `is not valid JSON (${syntaxErrorWhere(error, body)})`);
  }
  const result = hostsFileSchema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 3).map((issue) => `${formatPath(issue.path, data)}: ${issue.message}`);
    const more = result.error.issues.length > 3 ? `; and ${result.error.issues.length - 3} more` : "";
    throw new HostsFileError(
      file,
      `does not have the expected shape ${EXPECTED_SHAPE} (${issues.join("; ")}${more})`,
      result.error,
    );
  }
  return result.data.hosts.map((host) => canonicalHost(host));
}

/** hosts.json text for `hosts`: 2-space indent, trailing newline, host order kept. */
export function formatHostsFile(hosts: readonly HostConfig[]): string {
  return `${JSON.stringify({ hosts: hosts.map((host) => canonicalHost(host)) }, null, 2)}\n`;
}

const LIST_END = "\n  ]\n}\n";

/** formatHostsFile([...hosts, host]) from `text` = formatHostsFile(hosts), without formatting every host again. */
export function appendToHostsFile(text: string, host: HostConfig): string {
  if (!text.endsWith(LIST_END)) return formatHostsFile([host]); // text of no hosts ends "[]\n}\n"
  // JSON escapes newlines inside strings, so each "\n" here starts a line to indent like its neighbours.
  const entry = `    ${JSON.stringify(canonicalHost(host), null, 2).replaceAll("\n", "\n    ")}`;
  return `${text.slice(0, -LIST_END.length)},\n${entry}${LIST_END}`;
}

/** "line L, column C" of a JSON.parse failure, without quoting the text. */
function syntaxErrorWhere(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : "";
  if (/unexpected end/i.test(message)) return "unexpected end of file";
  const position = /at position (\d+)/.exec(message);
  if (!position) return "syntax error";
  const offset = Number(position[1]);
  const before = text.slice(0, offset).split("\n");
  return `syntax error at line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
}

/** "hosts[1].host", with the host's id when it has a sensible one: "hosts[1].host (host_id 'db')". */
function formatPath(path: readonly PropertyKey[], data: unknown): string {
  if (path.length === 0) return "top level";
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`;
  if (path[0] === "hosts" && typeof path[1] === "number" && path.length > 2) {
    const id = (data as { hosts: Array<{ host_id?: unknown }> }).hosts[path[1]]?.host_id;
    if (typeof id === "string" && id.length <= MAX_LENGTH.host_id && !/[\p{C}\s]/u.test(id)) {
      out += ` (host_id '${id}')`;
    }
  }
  return out;
}
