import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { HostConfig } from "../../hosts/host-config.js";
import type { HostDirectory, ListedHost } from "../../hosts/host-directory.js";
import { hostFieldSchemas as f } from "../../hosts/host-fields.js";
import type { HostEdit } from "../../hosts/host-store.js";
import { safely, textResult } from "../tool-result.js";
import { toolInput } from "./tool-input.js";

const hostFields = {
  host: f.host.describe("Host name or IP address to connect to"),
  port: f.port.describe("SSH port, 1-65535 (default 22)"),
  username: f.username.describe("Login user name"),
  password: f.password.describe("Password (stored in ~/.ssh-mcp/hosts.json, mode 0600). Prefer keyPath or ssh-agent"),
  keyPath: f.keyPath.describe(
    "Path to the private key (not the .pub); ~/ is expanded. Encrypted keys are unlocked with SSH_MCP_KEY_PASSPHRASE",
  ),
  hostKey: f.hostKey.describe("Pin the host key: a SHA256:... fingerprint as `ssh-keygen -lf` prints it"),
  agentForward: f.agentForward.describe("Forward the local ssh-agent to this host (default false)"),
  proxyJump: f.proxyJump.describe("host_id of a saved host to connect through, like OpenSSH's ProxyJump (a bastion)"),
};

/** How a host authenticates, as list-hosts shows it. */
export function authKind(host: HostConfig): "key" | "password" | "agent" {
  return host.keyPath ? "key" : host.password ? "password" : "agent";
}

/** user@host:port and the settings worth showing; never a password. */
function hostDetails(host: HostConfig): string[] {
  const details = [`${host.username}@${host.host}:${host.port}`, `auth=${authKind(host)}`];
  if (host.hostKey) details.push(`hostKey=${host.hostKey} (pinned)`);
  if (host.agentForward) details.push("agentForward");
  if (host.proxyJump) details.push(`proxyJump=${host.proxyJump}`);
  return details;
}

/** One list-hosts line: id and details, tab-separated; ssh config hosts say where they come from. */
function describeHost(listed: ListedHost): string {
  if (listed.source === "hosts.json") return [listed.host.host_id, ...hostDetails(listed.host)].join("\t");
  const { host } = listed;
  const details = [host.host_id, `${host.username}@${host.host}:${host.port}`, `auth=${listedAuth(listed)}`, `from ssh config (${listed.file})`];
  if (host.agentForward) details.push("agentForward");
  if (listed.proxyJump) details.push(`proxyJump=${listed.proxyJump}`);
  return details.join("\t");
}

function listedAuth(listed: ListedHost): "key" | "password" | "agent" {
  return listed.source === "hosts.json" ? authKind(listed.host) : listed.keyFile !== undefined ? "key" : "agent";
}

/** list-hosts' structured entry for one host. */
function structuredHost(listed: ListedHost) {
  const h = listed.host;
  const proxyJump = listed.source === "hosts.json" ? listed.host.proxyJump : listed.proxyJump;
  return {
    host_id: h.host_id,
    host: h.host,
    port: h.port,
    username: h.username,
    auth: listedAuth(listed),
    source: listed.source,
    hostKeyPinned: h.hostKey !== undefined,
    agentForward: h.agentForward === true,
    ...(proxyJump !== undefined && { proxyJump }),
  };
}

// The text and the structured list each take about this much, and clients refuse messages over 10 MiB.
const LIST_BUDGET_BYTES = 2 * 1024 * 1024;

/** The first hosts whose list-hosts lines fit LIST_BUDGET_BYTES, and those lines. */
function withinBudget(all: readonly ListedHost[]): { hosts: ListedHost[]; lines: string[] } {
  const hosts: ListedHost[] = [];
  const lines: string[] = [];
  let bytes = 0;
  for (const host of all) {
    const line = describeHost(host);
    bytes += Buffer.byteLength(line) + 1;
    if (bytes > LIST_BUDGET_BYTES) break;
    hosts.push(host);
    lines.push(line);
  }
  return { hosts, lines };
}

/** What an edit that points the host elsewhere removed or kept, and how to undo it. */
function editNotes(edit: HostEdit): string[] {
  const notes = edit.removed.map(({ field, because }) => {
    const why = `because ${because.join(" and ")} changed`;
    return field === "password"
      ? `The stored password was removed ${why}; give password again in the same edit-host call to keep one.`
      : `agentForward was turned off ${why}; give agentForward true in the same edit-host call to forward your ssh-agent to the new target.`;
  });
  if (edit.keptHostKey) {
    notes.push(
      'The pinned hostKey was kept: if the new address is a different machine, start-session will refuse it as a host key mismatch; then pin its key with hostKey, or clear the pin with hostKey "".',
    );
  }
  return notes;
}

/** add-host, list-hosts, edit-host, remove-host. */
export function registerHostTools(server: McpServer, store: HostDirectory, log: (m: string) => void): void {
  server.registerTool(
    "add-host",
    {
      title: "Add SSH host",
      description:
        "Save an SSH host under a short id so sessions can be started on it. Auth: password, keyPath, or (with neither) the ssh-agent. Refuses an id that exists; use edit-host to change one.",
      inputSchema: toolInput({
        host_id: f.host_id.describe("Short unique id for this host, e.g. 'web1'"),
        host: hostFields.host,
        port: hostFields.port.optional(),
        username: hostFields.username,
        password: hostFields.password.optional(),
        keyPath: hostFields.keyPath.optional(),
        hostKey: hostFields.hostKey.optional(),
        agentForward: hostFields.agentForward.optional(),
        proxyJump: hostFields.proxyJump.optional(),
      }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    safely(log, async (args) => {
      const host = await store.add(args);
      return textResult(`Added host '${host.host_id}': ${hostDetails(host).join(", ")}.`);
    }),
  );

  server.registerTool(
    "list-hosts",
    {
      title: "List SSH hosts",
      description:
        "List hosts: those saved with add-host and the aliases of ~/.ssh/config (marked as from ssh config): id, user@host:port and auth method (never a password). Use it to find a host_id for start-session.",
      inputSchema: toolInput({}),
      outputSchema: {
        hosts: z.array(
          z.object({
            host_id: z.string(),
            host: z.string(),
            port: z.number(),
            username: z.string(),
            auth: z.enum(["key", "password", "agent"]),
            source: z.enum(["hosts.json", "ssh-config"]).describe("Saved with add-host, or an alias of ~/.ssh/config (read-only)"),
            hostKeyPinned: z.boolean(),
            agentForward: z.boolean(),
            proxyJump: z.string().optional(),
          }),
        ),
        notShown: z.number().optional(),
        sshConfigProblem: z.string().optional(),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    safely(log, async () => {
      const { hosts: all, sshConfigProblem } = await store.list();
      const { hosts, lines } = withinBudget(all);
      const notShown = all.length - hosts.length;
      if (notShown) {
        lines.push(
          `... and ${notShown} more hosts not shown: this reply is limited to ${LIST_BUDGET_BYTES / 1024 / 1024} MiB. start-session and edit-host take any saved host_id.`,
        );
      }
      if (sshConfigProblem) lines.push(`ssh config hosts are missing: ${sshConfigProblem}`);
      const text = lines.length ? lines.join("\n") : "No hosts saved yet, and none in ~/.ssh/config. Add one with add-host.";
      return textResult(text, {
        hosts: hosts.map(structuredHost),
        ...(notShown > 0 && { notShown }),
        ...(sshConfigProblem && { sshConfigProblem }),
      });
    }),
  );

  server.registerTool(
    "edit-host",
    {
      title: "Edit SSH host",
      description:
        "Change fields of a saved host; only the fields given change. An empty string for password, keyPath, hostKey or proxyJump removes it (e.g. to switch to ssh-agent). " +
        "Changing host, port or username removes the stored password unless it is given again in the same call (host or port also turns agentForward off). Open sessions keep their connection.",
      inputSchema: toolInput({
        host_id: f.host_id.describe("Id of the host to change"),
        host: hostFields.host.optional(),
        port: hostFields.port.optional(),
        username: hostFields.username.optional(),
        password: hostFields.password.optional(),
        keyPath: hostFields.keyPath.optional(),
        hostKey: hostFields.hostKey.optional(),
        agentForward: hostFields.agentForward.optional(),
        proxyJump: hostFields.proxyJump.optional(),
      }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    safely(log, async ({ host_id, ...patch }) => {
      const edit = await store.edit(host_id, patch);
      return textResult([`Updated host '${edit.host.host_id}': ${hostDetails(edit.host).join(", ")}.`, ...editNotes(edit)].join(" "));
    }),
  );

  server.registerTool(
    "remove-host",
    {
      title: "Remove SSH host",
      description: "Delete a saved host. Sessions already open on it stay open until closed. A host that others use as proxyJump cannot be removed until they stop.",
      inputSchema: toolInput({ host_id: f.host_id.describe("Id of the host to remove") }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    safely(log, async ({ host_id }) => {
      const host = await store.remove(host_id);
      return textResult(`Removed host '${host.host_id}'.`);
    }),
  );
}
