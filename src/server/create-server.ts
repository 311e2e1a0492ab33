import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { HostDirectory } from "../hosts/host-directory.js";
import type { SessionManager } from "../session/session-manager.js";
import { registerHostTools } from "./tools/host-tools.js";
import { registerSessionTools } from "./tools/session-tools.js";

/** What the MCP server is built from. */
export interface ServerDeps {
  hosts: HostDirectory;
  sessions: SessionManager;
  version: string;
  log: (message: string) => void;
}

/** The MCP server with all eight tools, and the cleanup that closes every SSH connection. */
export function createServer(deps: ServerDeps): { server: McpServer; cleanup: () => Promise<void> } {
  const server = new McpServer(
    { name: "ssh-mcp", version: deps.version },
    {
      instructions:
        "Persistent SSH shells on saved hosts and the hosts of ~/.ssh/config. list-hosts shows them (add-host saves one); start-session opens a shell on one; " +
        "exec runs commands in it, and the working directory, variables and background jobs persist between calls; close-session ends it. " +
        "Commands get no stdin: pass flags such as -y instead of answering prompts.",
    },
  );
  registerHostTools(server, deps.hosts, deps.log);
  registerSessionTools(server, deps.sessions, deps.log);
  return { server, cleanup: () => deps.sessions.closeAll() };
}
