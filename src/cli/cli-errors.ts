import { SshMcpError } from "../errors.js";

/** The command line cannot be understood (unknown option, missing value): shown with the usage, exit code 2. */
export class UsageError extends SshMcpError {
  constructor(
    message: string,
    /** The usage text of the command concerned. */
    readonly usage: string,
  ) {
    super(message);
  }
}
