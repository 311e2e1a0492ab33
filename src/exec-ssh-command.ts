import { readConfig } from "./config.js";
import { SshMcpError } from "./errors.js";
import { createRuntime, type Runtime } from "./runtime.js";

/** A command that ran and exited non-zero. */
export class CommandFailedError extends SshMcpError {
  constructor(
    readonly exitCode: number,
    readonly output: string,
  ) {
    super(`Command failed with exit code ${exitCode}.${output ? `\n${output}` : ""}`);
  }
}

// One runtime per process, made on first use from the environment, so sessions named in one
// call are there for the next.
let runtime: Runtime | undefined;

function defaultRuntime(): Runtime {
  runtime ??= createRuntime(readConfig());
  return runtime;
}

/**
 * Run `command` on a saved host, as the exec tool does. Resolves to the output on exit 0;
 * rejects with CommandFailedError (exitCode, output) otherwise, or with the typed error that
 * stopped it (unknown host, timeout, ...).
 *
 * Without `sessionId` a one-off session is opened and closed, so a script that calls this once
 * exits by itself. With one, the session is reused (started on `hostId` under that id if it is
 * not open yet) and stays open until `closeSshSessions()`.
 */
export async function execSshCommand(hostId: string, command: string, sessionId?: string): Promise<string> {
  const { sessions } = defaultRuntime();
  let id = sessionId;
  const oneOff = id === undefined;
  if (id === undefined) id = (await sessions.start(hostId)).sessionId;
  else {
    const open = sessions.list().find((s) => s.sessionId === id);
    if (!open) await sessions.start(hostId, id);
    else if (open.hostId !== hostId) {
      throw new SshMcpError(`Session '${id}' is open on host '${open.hostId}', not '${hostId}'. Use another sessionId.`);
    }
  }
  try {
    const result = await sessions.exec(id, command);
    if (result.exitCode !== 0) throw new CommandFailedError(result.exitCode, result.output);
    return result.output;
  } finally {
    if (oneOff) await sessions.close(id).catch(() => undefined);
  }
}

/** Close every session execSshCommand opened with a sessionId. */
export async function closeSshSessions(): Promise<void> {
  await runtime?.sessions.closeAll();
}
