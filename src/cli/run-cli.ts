import { readConfig } from "../config.js";
import { SshMcpError } from "../errors.js";
import { createRuntime } from "../runtime.js";
import { packageVersion } from "../version.js";
import { UsageError } from "./cli-errors.js";
import { runHostsCommand } from "./hosts-command.js";
import { stdinSecretSource, PromptCancelledError } from "./secret-prompt.js";
import { MAIN_USAGE } from "./usage.js";

/** What the command writes to and reads secrets from; the process's own streams unless a test gives others. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/**
 * `ssh-mcp ARGS...` at a terminal: --help, --version, and `hosts list|add|edit|remove` over the
 * same hosts.json as the tools. Resolves to the exit code: 0 done, 1 failed, 2 usage, 130 cancelled.
 */
export async function runCli(args: string[], io: CliIo = processIo): Promise<number> {
  try {
    const [first, ...rest] = args;
    if (first === "--help" || first === "-h" || first === "help") {
      io.out(MAIN_USAGE);
      return 0;
    }
    if (first === "--version" || first === "-V") {
      io.out(`${packageVersion()}\n`);
      return 0;
    }
    if (first !== "hosts") throw new UsageError(`unknown command '${first}'`, MAIN_USAGE);
    const { hosts } = createRuntime(readConfig(), (message) => io.err(`ssh-mcp: ${message}\n`));
    const secrets = stdinSecretSource();
    try {
      io.out(await runHostsCommand(rest, hosts, secrets));
    } finally {
      secrets.close();
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`ssh-mcp: ${error.message}\n\n${error.usage}`);
      return 2;
    }
    if (error instanceof PromptCancelledError) {
      io.err(`ssh-mcp: ${error.message}\n`);
      return 130;
    }
    // Our errors carry their own advice; anything else is unexpected, so say where it came from.
    io.err(`ssh-mcp: ${error instanceof SshMcpError ? error.message : `internal error: ${error instanceof Error ? error.message : String(error)}`}\n`);
    return 1;
  }
}
