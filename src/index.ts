#!/usr/bin/env node
import { createRequire } from "node:module";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { readConfig } from "./config.js";
import { createRuntime } from "./runtime.js";
import { createServer } from "./server/create-server.js";

// stdout is the protocol; everything else goes to stderr.
const log = (message: string) => process.stderr.write(`ssh-mcp: ${message}\n`);

async function main(): Promise<void> {
  const config = readConfig();
  if (config.strictHostKeys === "no") {
    log("WARNING: SSH_MCP_STRICT_HOST_KEYS=no: host keys are not verified; connections can be intercepted.");
  }
  const { version } = createRequire(import.meta.url)("../package.json") as { version: string };
  const { store, sessions } = createRuntime(config, log);
  const { server, cleanup } = createServer({ store, sessions, version, log });

  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await cleanup();
    await server.close().catch(() => undefined);
    process.exit(0);
  };
  // The SDK's stdio transport does not notice a closed stdin, so watch for it here.
  process.stdin.on("end", shutdown);
  process.stdin.on("close", shutdown);
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  // One bad event from a library must not take every open session down with the server.
  process.on("uncaughtException", (error) => log(`internal error (kept running): ${error.stack ?? error.message}`));
  process.on("unhandledRejection", (reason) => log(`internal error (kept running): ${String(reason)}`));

  await server.connect(new StdioServerTransport());
}

main().catch((error) => {
  console.error(`ssh-mcp: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
