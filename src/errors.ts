/** Base of every error this package throws on purpose; tool handlers show its message to the model. */
export class SshMcpError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Quote for a POSIX shell only when needed, so commands in hints stay copy-pasteable. */
export function quoteForShell(value: string): string {
  return /^[A-Za-z0-9_\/.~:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
