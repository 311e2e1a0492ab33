import { createInterface } from "node:readline";
import { StringDecoder } from "node:string_decoder";
import { SshMcpError } from "../errors.js";

/** The person pressed Ctrl-C or Ctrl-D at a prompt. */
export class PromptCancelledError extends SshMcpError {
  constructor() {
    super("Cancelled; nothing was changed.");
  }
}

/** Where secrets come from: typed at the terminal with echo off, or lines of a pipe. */
export interface SecretSource {
  /** True when a person types at a terminal (so a new secret is asked twice). */
  readonly interactive: boolean;
  read(prompt: string): Promise<string>;
  close(): void;
}

/**
 * Secrets from standard input: at a terminal, typed with echo off (raw mode, so nothing is shown
 * and Ctrl-C is ours to handle); from a pipe, one line each (`printf '%s\n' "$PW" | ssh-mcp ...`).
 * Never from arguments, which shells keep in history and `ps` shows to every user.
 */
export function stdinSecretSource(input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): SecretSource {
  if (input.isTTY) {
    return { interactive: true, read: (prompt) => readHidden(input, output, prompt), close: () => input.pause() };
  }
  const lines = createInterface({ input, terminal: false })[Symbol.asyncIterator]();
  return {
    interactive: false,
    async read(prompt) {
      const next = await lines.next();
      if (next.done) throw new SshMcpError(`Standard input ended before the answer to "${prompt.trim()}": give one line for each secret asked.`);
      return next.value as string;
    },
    close: () => input.destroy(),
  };
}

function readHidden(input: NodeJS.ReadStream, output: NodeJS.WriteStream, prompt: string): Promise<string> {
  // Echo goes off before the prompt shows: what is typed once the prompt is visible is never echoed.
  input.setRawMode(true);
  input.resume();
  output.write(prompt);
  const decoder = new StringDecoder("utf8");
  let value = "";
  return new Promise((resolve, reject) => {
    const finish = (error?: Error) => {
      input.off("data", onData);
      input.setRawMode(false);
      input.pause();
      output.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of decoder.write(chunk)) {
        if (ch === "\r" || ch === "\n") return finish();
        if (ch === "\u0003" || (ch === "\u0004" && value === "")) return finish(new PromptCancelledError());
        if (ch === "\u007f" || ch === "\b") value = [...value].slice(0, -1).join("");
        else if (ch === "\u0015") value = ""; // Ctrl-U: start again
        else if (ch >= " ") value += ch;
      }
    };
    input.on("data", onData);
  });
}
