#!/usr/bin/env node
import { runCli } from "./cli/run-cli.js";
import { runServer } from "./server/run-server.js";

// No arguments: the stdio MCP server, as MCP clients start it. Anything else: the terminal command.
const args = process.argv.slice(2);
if (args.length === 0) runServer();
else void runCli(args).then((code) => (process.exitCode = code));
