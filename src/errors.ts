/** Base of every error this package throws on purpose; tool handlers show its message to the model. */
export class SshMcpError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
