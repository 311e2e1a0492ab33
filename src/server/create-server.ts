import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { HostStore } from "../hosts/host-store.js";
import type { SessionManager } from "../session/session-manager.js";
import { registerFileTools } from "./tools/file-tools.js";
import { registerHostTools } from "./tools/host-tools.js";
import { registerSessionTools } from "./tools/session-tools.js";

/** What the MCP server is built from. */
export interface ServerDeps {
  store: HostStore;
  sessions: SessionManager;
  version: string;
  log: (message: string) => void;
}

/** The MCP server with all its tools, and the cleanup that closes every SSH connection. */
export function createServer(deps: ServerDeps): { server: McpServer; cleanup: () => Promise<void> } {
  const server = new McpServer(
    { name: "ssh-mcp", version: deps.version },
    {
      instructions:
        "Persistent SSH shells on saved hosts. list-hosts shows the hosts (add-host saves one); start-session opens a shell on one; " +
        "exec runs commands in it, and the working directory, variables and background jobs persist between calls; close-session ends it. " +
        "Commands get no stdin: pass flags such as -y instead of answering prompts. " +
        "read-file, write-file and edit-file change files without shell quoting; upload and download copy files of any size.",
    },
  );
  registerHostTools(server, deps.store, deps.log);
  registerSessionTools(server, deps.sessions, deps.log);
  registerFileTools(server, deps.sessions, deps.log);
  return { server, cleanup: () => deps.sessions.closeAll() };
}
