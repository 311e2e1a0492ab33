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

/** Most names an error message lists before "and N more". */
export const MAX_LISTED = 20;

/** "a, b, c" for a message, cut after MAX_LISTED names: "a, b, ... t and 9980 more; see list-hosts". */
export function listSome(names: readonly string[], seeAlso: string): string {
  if (names.length <= MAX_LISTED) return names.join(", ");
  return `${names.slice(0, MAX_LISTED).join(", ")} and ${names.length - MAX_LISTED} more; see ${seeAlso}`;
}
