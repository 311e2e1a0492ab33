import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { HostDirectory } from "../hosts/host-directory.js";
import type { SessionManager } from "../session/session-manager.js";
import type { HostKeyTrust } from "../ssh/host-key-trust.js";
import { hostKeyConfirmer } from "./elicitation.js";
import type { PolicyFile } from "../policy/policy-file.js";
import { registerFileTools } from "./tools/file-tools.js";
import { registerHostTools } from "./tools/host-tools.js";
import { registerSessionTools } from "./tools/session-tools.js";

/** What the MCP server is built from. */
export interface ServerDeps {
  hosts: HostDirectory;
  sessions: SessionManager;
  /** The person's command policy, shown by list-hosts. */
  policies?: PolicyFile;
  /** Asks the client's person about new host keys under SSH_MCP_STRICT_HOST_KEYS=ask. */
  trust?: HostKeyTrust;
  version: string;
  log: (message: string) => void;
}

/** The MCP server with all its tools, and the cleanup that closes every SSH connection. */
export function createServer(deps: ServerDeps): { server: McpServer; cleanup: () => Promise<void> } {
  const server = new McpServer(
    { name: "ssh-mcp", version: deps.version },
    {
      instructions:
        "Persistent SSH shells on saved hosts and the hosts of ~/.ssh/config. list-hosts shows them (add-host saves one); start-session opens a shell on one; " +
        "exec runs commands in it, and the working directory, variables and background jobs persist between calls; close-session ends it. " +
        "Commands get no stdin: pass flags such as -y instead of answering prompts. " +
        "A long command comes back still running after yield_ms: call read-output until it is done, interrupt if it is stuck; " +
        "work that must outlive the session goes in the background with a log file (nohup cmd > log 2>&1 &). " +
        "read-file, write-file and edit-file change files without shell quoting; upload and download copy files of any size.",
    },
  );
  registerHostTools(server, deps.hosts, deps.log, deps.policies);
  registerSessionTools(server, deps.sessions, deps.hosts, deps.log);
  registerFileTools(server, deps.sessions, deps.log);
  deps.trust?.askWith(hostKeyConfirmer(server.server));
  return { server, cleanup: () => deps.sessions.closeAll() };
}
