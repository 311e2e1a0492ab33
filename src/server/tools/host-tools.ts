import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { HostConfig } from "../../hosts/host-config.js";
import { hostFieldSchemas as f } from "../../hosts/host-fields.js";
import type { HostEdit, HostStore } from "../../hosts/host-store.js";
import { safely, textResult } from "../tool-result.js";
import { toolInput } from "./tool-input.js";
import { describePolicy } from "../../policy/policy.js";
import type { PolicyFile } from "../../policy/policy-file.js";

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

/** One list-hosts line: id and details, tab-separated, and the command policy unless it is open. */
function describeHost(host: HostConfig, policy: string): string {
  return [host.host_id, ...hostDetails(host), ...(policy === "open" ? [] : [`policy=${policy}`])].join("\t");
}

/** Each host's effective command policy, in words; "refuse-all" while policy.json is broken. */
async function policiesOf(hosts: readonly HostConfig[], policies?: PolicyFile): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const host of hosts) {
    const policy = policies ? await policies.policyFor(host.host_id).then(describePolicy, () => "refuse-all (policy.json is invalid)") : "open";
    out.set(host.host_id, policy);
  }
  return out;
}

// The text and the structured list each take about this much, and clients refuse messages over 10 MiB.
const LIST_BUDGET_BYTES = 2 * 1024 * 1024;

/** The first hosts whose list-hosts lines fit LIST_BUDGET_BYTES, and those lines. */
function withinBudget(all: readonly HostConfig[], policies: Map<string, string>): { hosts: HostConfig[]; lines: string[] } {
  const hosts: HostConfig[] = [];
  const lines: string[] = [];
  let bytes = 0;
  for (const host of all) {
    const line = describeHost(host, policies.get(host.host_id) ?? "open");
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
export function registerHostTools(server: McpServer, store: HostStore, log: (m: string) => void, policies?: PolicyFile): void {
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
        "List saved hosts: id, user@host:port, auth method (never a password) and the command policy the person set for it (open unless shown). Use it to find a host_id for start-session.",
      inputSchema: toolInput({}),
      outputSchema: {
        hosts: z.array(
          z.object({
            host_id: z.string(),
            host: z.string(),
            port: z.number(),
            username: z.string(),
            auth: z.enum(["key", "password", "agent"]),
            hostKeyPinned: z.boolean(),
            agentForward: z.boolean(),
            proxyJump: z.string().optional(),
            policy: z.string(),
          }),
        ),
        notShown: z.number().optional(),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    safely(log, async () => {
      const all = await store.list();
      const policyOf = await policiesOf(all, policies);
      const { hosts, lines } = withinBudget(all, policyOf);
      const notShown = all.length - hosts.length;
      if (notShown) {
        lines.push(
          `... and ${notShown} more hosts not shown: this reply is limited to ${LIST_BUDGET_BYTES / 1024 / 1024} MiB. start-session and edit-host take any saved host_id.`,
        );
      }
      const text = lines.length ? lines.join("\n") : "No hosts saved yet. Add one with add-host.";
      return textResult(text, {
        hosts: hosts.map((h) => ({
          host_id: h.host_id,
          host: h.host,
          port: h.port,
          username: h.username,
          auth: authKind(h),
          hostKeyPinned: h.hostKey !== undefined,
          agentForward: h.agentForward === true,
          ...(h.proxyJump !== undefined && { proxyJump: h.proxyJump }),
          policy: policyOf.get(h.host_id) ?? "open",
        })),
        ...(notShown > 0 && { notShown }),
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
