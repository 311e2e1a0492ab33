import { hostFieldSchemas as f } from "./host-fields.js";

/**
 * The arguments of add-host and edit-host, with their limits (host-fields.ts) and the short
 * descriptions clients show: one definition for the MCP tools and the ssh-mcp command.
 */
export const hostArguments = {
  host_id: f.host_id.describe("Short unique id for this host, e.g. 'web1'"),
  host: f.host.describe("Host name or IP address to connect to"),
  port: f.port.describe("SSH port, 1-65535 (default 22)"),
  username: f.username.describe("Login user name"),
  password: f.password.describe("Password (stored in ~/.ssh-mcp/hosts.json, mode 0600). Prefer keyPath or ssh-agent"),
  sudoPassword: f.sudoPassword.describe(
    "Password sudo asks for when exec runs with sudo (stored like password, never shown). Better set with `ssh-mcp hosts edit ID --ask-sudo-password`, so it never passes through the model",
  ),
  keyPath: f.keyPath.describe(
    "Path to the private key (not the .pub); ~/ is expanded. Encrypted keys are unlocked with SSH_MCP_KEY_PASSPHRASE",
  ),
  hostKey: f.hostKey.describe("Pin the host key: a SHA256:... fingerprint as `ssh-keygen -lf` prints it"),
  agentForward: f.agentForward.describe("Forward the local ssh-agent to this host (default false)"),
  proxyJump: f.proxyJump.describe("host_id of a saved host to connect through, like OpenSSH's ProxyJump (a bastion)"),
};

const a = hostArguments;

/** add-host's arguments. */
export const addHostShape = {
  host_id: a.host_id,
  host: a.host,
  port: a.port.optional(),
  username: a.username,
  password: a.password.optional(),
  sudoPassword: a.sudoPassword.optional(),
  keyPath: a.keyPath.optional(),
  hostKey: a.hostKey.optional(),
  agentForward: a.agentForward.optional(),
  proxyJump: a.proxyJump.optional(),
};

/** edit-host's arguments: the id, and any field to change. */
export const editHostShape = {
  host_id: a.host_id.describe("Id of the host to change"),
  host: a.host.optional(),
  port: a.port.optional(),
  username: a.username.optional(),
  password: a.password.optional(),
  sudoPassword: a.sudoPassword.optional(),
  keyPath: a.keyPath.optional(),
  hostKey: a.hostKey.optional(),
  agentForward: a.agentForward.optional(),
  proxyJump: a.proxyJump.optional(),
};

/** remove-host's arguments. */
export const removeHostShape = { host_id: a.host_id.describe("Id of the host to remove") };
