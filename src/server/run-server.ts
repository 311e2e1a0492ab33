import { readConfig } from "../config.js";
import { createRuntime } from "../runtime.js";
import { packageVersion } from "../version.js";
import { createServer } from "./create-server.js";
import { serveStdio } from "./serve-stdio.js";

/** The stdio MCP server, as `ssh-mcp` with no arguments runs it; exits the process on a fatal error. */
export function runServer(): void {
  // stdout is the protocol; everything else goes to stderr.
  const log = (message: string) => {
    if (process.stderr.writable) process.stderr.write(`ssh-mcp: ${message}\n`);
  };
  // A client that stops reading stderr must not matter: unheard, the EPIPE would reach the
  // uncaughtException handler below, whose log line fails again, and so on forever.
  process.stderr.on("error", () => undefined);
  // One bad event from a library must not take every open session down with the server.
  process.on("uncaughtException", (error) => log(`internal error (kept running): ${error.stack ?? error.message}`));
  process.on("unhandledRejection", (reason) => log(`internal error (kept running): ${String(reason)}`));

  const main = async () => {
    const config = readConfig();
    if (config.strictHostKeys === "no") {
      log("WARNING: SSH_MCP_STRICT_HOST_KEYS=no: host keys are not verified; connections can be intercepted.");
    }
    const { hosts, sessions, trust, policies } = createRuntime(config, log);
    const { server, cleanup } = createServer({ hosts, sessions, trust, policies, version: packageVersion(), log });
    await serveStdio(server, cleanup, log);
  };
  main().catch((error) => {
    console.error(`ssh-mcp: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
