import type { HostConfig } from "./host-config.js";
import type { ListedHost } from "./host-directory.js";
import type { HostEdit } from "./host-validation.js";

/** How a host authenticates, as list-hosts shows it. */
export function authKind(host: HostConfig): "key" | "password" | "agent" {
  return host.keyPath ? "key" : host.password ? "password" : "agent";
}

/** user@host:port and the settings worth showing; never a password. */
export function hostDetails(host: HostConfig): string[] {
  const details = [`${host.username}@${host.host}:${host.port}`, `auth=${authKind(host)}`];
  if (host.sudoPassword !== undefined) details.push("sudo password set");
  if (host.hostKey) details.push(`hostKey=${host.hostKey} (pinned)`);
  if (host.agentForward) details.push("agentForward");
  if (host.proxyJump) details.push(`proxyJump=${host.proxyJump}`);
  return details;
}

/** The auth method of a listed host: an ssh config host uses its first IdentityFile that exists, else the agent. */
export function listedAuth(listed: ListedHost): "key" | "password" | "agent" {
  return listed.source === "hosts.json" ? authKind(listed.host) : listed.keyFile !== undefined ? "key" : "agent";
}

/** One list-hosts line: id and details, tab-separated; ssh config hosts say where they come from. */
export function describeListedHost(listed: ListedHost): string {
  if (listed.source === "hosts.json") return [listed.host.host_id, ...hostDetails(listed.host)].join("\t");
  const { host } = listed;
  const details = [host.host_id, `${host.username}@${host.host}:${host.port}`, `auth=${listedAuth(listed)}`, `from ssh config (${listed.file})`];
  if (host.agentForward) details.push("agentForward");
  if (listed.proxyJump) details.push(`proxyJump=${listed.proxyJump}`);
  return details.join("\t");
}

/** What an edit that points the host elsewhere removed or kept, and how to undo it. */
export function editNotes(edit: HostEdit): string[] {
  const notes = edit.removed.map(({ field, because }) => {
    const why = `because ${because.join(" and ")} changed`;
    return field === "agentForward"
      ? `agentForward was turned off ${why}; give agentForward true in the same edit-host call to forward your ssh-agent to the new target.`
      : `The stored ${field === "password" ? "password" : "sudo password"} was removed ${why}; give ${field} again in the same edit-host call to keep one.`;
  });
  if (edit.keptHostKey) {
    notes.push(
      'The pinned hostKey was kept: if the new address is a different machine, start-session will refuse it as a host key mismatch; then pin its key with hostKey, or clear the pin with hostKey "".',
    );
  }
  return notes;
}
