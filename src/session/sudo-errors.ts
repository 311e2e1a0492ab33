import { SshMcpError, quoteForShell } from "../errors.js";

/** Which host and account a sudo error is about. */
interface Where {
  hostId: string;
  target: string;
}

function on(where: Where): string {
  return ` on ${where.target} (host '${where.hostId}')`;
}

/** How to store a sudo password without it passing through the model. */
function storeHint(hostId: string): string {
  return `ssh-mcp hosts edit ${quoteForShell(hostId)} --ask-sudo-password`;
}

/** sudo wants a password and the host has none stored; the command did not run. */
export class SudoPasswordRequiredError extends SshMcpError {
  constructor(readonly where: Where) {
    super(
      `sudo${on(where)} asks for a password, and none is stored for host '${where.hostId}'; the command did not run. ` +
        `Ask the user to store it by running, in a terminal: ${storeHint(where.hostId)} (it is typed at a prompt and never seen by the model), ` +
        `or to allow this account sudo without a password (NOPASSWD in sudoers). Hosts from ~/.ssh/config cannot store one: save the host with ssh-mcp hosts add first.`,
    );
  }
}

/** sudo refused the stored password; the command did not run. */
export class SudoWrongPasswordError extends SshMcpError {
  constructor(readonly where: Where) {
    super(
      `sudo${on(where)} refused the stored sudo password; the command did not run and the session is still open. ` +
        `Ask the user to store the right one: ${storeHint(where.hostId)}`,
    );
  }
}

/** The host has no sudo (or not on the session's PATH); the command did not run. */
export class SudoNotInstalledError extends SshMcpError {
  constructor(readonly where: Where) {
    super(`sudo is not installed${on(where)} (not found on the session's PATH); the command did not run. Install sudo, or log in as the user you need.`);
  }
}

/** sudo did not run the command for another reason (not in sudoers, not allowed, requiretty...). */
export class SudoFailedError extends SshMcpError {
  constructor(
    readonly where: Where,
    readonly user: string,
    /** What sudo said, without our tokens. */
    readonly said: string,
    readonly exitCode: number,
  ) {
    const as = user ? ` as ${user}` : "";
    super(
      `sudo${on(where)} did not run the command${as}: ${said.replace(/\.$/, "") || `it exited with status ${exitCode}`}. ` +
        `The account needs a sudoers rule that lets it run /bin/sh${as} (as ALL does).`,
    );
  }
}

/** The private FIFO that carries the sudo password could not be set up on the host; nothing ran. */
export class SudoPipeError extends SshMcpError {
  constructor(problem: string) {
    super(`Could not pass the sudo password to the host: ${problem}. The command did not run; the session is still open.`);
  }
}
