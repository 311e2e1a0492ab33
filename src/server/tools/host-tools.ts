import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { addHostShape, editHostShape, removeHostShape } from "../../hosts/host-arguments.js";
import type { HostDirectory, ListedHost } from "../../hosts/host-directory.js";
import { describeListedHost, editNotes, hostDetails, listedAuth } from "../../hosts/host-summary.js";
import { safely, textResult } from "../tool-result.js";
import { toolInput } from "./tool-input.js";
import { describePolicy } from "../../policy/policy.js";
import type { PolicyFile } from "../../policy/policy-file.js";

export { authKind } from "../../hosts/host-summary.js";

/** Each host's effective command policy, in words; "refuse-all" while policy.json is broken. */
async function policiesOf(hosts: readonly ListedHost[], policies?: PolicyFile): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const { host } of hosts) {
    const policy = policies ? await policies.policyFor(host.host_id).then(describePolicy, () => "refuse-all (policy.json is invalid)") : "open";
    out.set(host.host_id, policy);
  }
  return out;
}

/** A list-hosts line with the host's command policy, unless it is open. */
function withPolicy(line: string, policy: string | undefined): string {
  return policy === undefined || policy === "open" ? line : `${line}\tpolicy=${policy}`;
}

// The text and the structured list each take about this much, and clients refuse messages over 10 MiB.
const LIST_BUDGET_BYTES = 2 * 1024 * 1024;

/** The first hosts whose list-hosts lines fit LIST_BUDGET_BYTES, and those lines. */
function withinBudget(all: readonly ListedHost[], policies: Map<string, string>): { hosts: ListedHost[]; lines: string[] } {
  const hosts: ListedHost[] = [];
  const lines: string[] = [];
  let bytes = 0;
  for (const host of all) {
    const line = withPolicy(describeListedHost(host), policies.get(host.host.host_id));
    bytes += Buffer.byteLength(line) + 1;
    if (bytes > LIST_BUDGET_BYTES) break;
    hosts.push(host);
    lines.push(line);
  }
  return { hosts, lines };
}

/** list-hosts' structured entry for one host; never a secret, only whether a sudo password is set. */
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
    sudoPasswordSet: h.sudoPassword !== undefined,
    ...(proxyJump !== undefined && { proxyJump }),
  };
}

/** add-host, list-hosts, edit-host, remove-host. */
export function registerHostTools(server: McpServer, hosts: HostDirectory, log: (m: string) => void, policies?: PolicyFile): void {
  server.registerTool(
    "add-host",
    {
      title: "Add SSH host",
      description:
        "Save an SSH host under a short id so sessions can be started on it. Auth: password, keyPath, or (with neither) the ssh-agent. Refuses an id that exists; use edit-host to change one. " +
        "Hosts in ~/.ssh/config need no add-host: list-hosts shows them.",
      inputSchema: toolInput(addHostShape),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    safely(log, async (args) => {
      const host = await hosts.add(args);
      return textResult(`Added host '${host.host_id}': ${hostDetails(host).join(", ")}.`);
    }),
  );

  server.registerTool(
    "list-hosts",
    {
      title: "List SSH hosts",
      description:
        "List hosts: those saved with add-host and the aliases of ~/.ssh/config (marked as from ssh config): id, user@host:port, auth method (never a password) and the command policy the person set (open unless shown). Use it to find a host_id for start-session.",
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
            sudoPasswordSet: z.boolean(),
            proxyJump: z.string().optional(),
            policy: z.string(),
          }),
        ),
        notShown: z.number().optional(),
        sshConfigProblem: z.string().optional(),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    safely(log, async () => {
      const { hosts: all, sshConfigProblem } = await hosts.list();
      const policyOf = await policiesOf(all, policies);
      const { hosts: shown, lines } = withinBudget(all, policyOf);
      const notShown = all.length - shown.length;
      if (notShown) {
        lines.push(
          `... and ${notShown} more hosts not shown: this reply is limited to ${LIST_BUDGET_BYTES / 1024 / 1024} MiB. start-session and edit-host take any saved host_id.`,
        );
      }
      if (sshConfigProblem) lines.push(`ssh config hosts are missing: ${sshConfigProblem}`);
      const text = lines.length ? lines.join("\n") : "No hosts saved yet, and none in ~/.ssh/config. Add one with add-host.";
      return textResult(text, {
        hosts: shown.map((listed) => ({ ...structuredHost(listed), policy: policyOf.get(listed.host.host_id) ?? "open" })),
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
        "Change fields of a saved host; only the fields given change. An empty string for password, sudoPassword, keyPath, hostKey or proxyJump removes it (e.g. to switch to ssh-agent). " +
        "Changing host, port or username removes the stored passwords unless given again in the same call (host or port also turns agentForward off). Open sessions keep their connection. " +
        "Hosts from ~/.ssh/config are the user's to edit there.",
      inputSchema: toolInput(editHostShape),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    safely(log, async ({ host_id, ...patch }) => {
      const edit = await hosts.edit(host_id, patch);
      return textResult([`Updated host '${edit.host.host_id}': ${hostDetails(edit.host).join(", ")}.`, ...editNotes(edit)].join(" "));
    }),
  );

  server.registerTool(
    "remove-host",
    {
      title: "Remove SSH host",
      description:
        "Delete a saved host. Sessions already open on it stay open until closed. A host that others use as proxyJump cannot be removed until they stop. Hosts from ~/.ssh/config are the user's to remove there.",
      inputSchema: toolInput(removeHostShape),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    safely(log, async ({ host_id }) => {
      const host = await hosts.remove(host_id);
      return textResult(`Removed host '${host.host_id}'.`);
    }),
  );
}
