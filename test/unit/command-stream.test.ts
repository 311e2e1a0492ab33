import { describe, expect, it } from "vitest";
import { CappedOutput } from "../../src/session/capped-output.js";
import { CommandStream, parseJobIds } from "../../src/session/command-stream.js";
import { commandTokens, shellQuote } from "../../src/session/shell-script.js";

const tokens = commandTokens("0123456789abcdef");
const frame = (body: string | Buffer, status = 0, jobs = "") =>
  Buffer.concat([Buffer.from(`${jobs}${tokens.jobs}\n`), Buffer.from(body), Buffer.from(`${tokens.end}${status}\n`)]);

function feed(chunks: Buffer[]) {
  const out: Buffer[] = [];
  const stream = new CommandStream(tokens, (c) => out.push(Buffer.from(c)));
  let done = false;
  for (const c of chunks) done = stream.push(c);
  return { done, stream, output: Buffer.concat(out) };
}

/** Every way of cutting `data` into two pieces, plus one byte at a time. */
function splits(data: Buffer): Buffer[][] {
  const ways: Buffer[][] = [];
  for (let i = 1; i < data.length; i++) ways.push([data.subarray(0, i), data.subarray(i)]);
  ways.push([...data].map((b) => Buffer.from([b])));
  return ways;
}

describe("CommandStream", () => {
  it("returns output without a trailing newline exactly, wherever the chunks are cut", () => {
    const data = frame("héllo\nwörld ✓ no newline");
    for (const chunks of splits(data)) {
      const { done, stream, output } = feed(chunks);
      expect(done).toBe(true);
      expect(stream.exitCode).toBe(0);
      expect(output.toString()).toBe("héllo\nwörld ✓ no newline");
    }
  });

  it("hands on output at once while the command runs, holding back only what could start the end token", () => {
    const out: Buffer[] = [];
    const stream = new CommandStream(tokens, (c) => out.push(Buffer.from(c)));
    stream.push(Buffer.from(`${tokens.jobs}\nline-1\n`));
    expect(Buffer.concat(out).toString()).toBe("line-1\n");
    stream.push(Buffer.from(`line-2\n${tokens.end.slice(0, 9)}`));
    expect(Buffer.concat(out).toString()).toBe("line-1\nline-2\n");
    // It was not the token after all.
    stream.push(Buffer.from("x\n"));
    expect(Buffer.concat(out).toString()).toBe(`line-1\nline-2\n${tokens.end.slice(0, 9)}x\n`);
  });

  it("reads the exit status and the background job ids from the header", () => {
    const { stream, output } = feed([frame("x\n", 42, "123\n[1]  + 456 running    sleep 9\n")]);
    expect(stream.exitCode).toBe(42);
    expect(stream.jobs).toEqual([123, 456]);
    expect(output.toString()).toBe("x\n");
  });

  it("drops late background output that arrives before the command's header", () => {
    const { output, stream } = feed([Buffer.from("stray output from a job\n42 is not a job\n"), frame("mine", 0, "77\n")]);
    expect(output.toString()).toBe("mine");
    expect(stream.jobs).toEqual([77]);
  });

  it("is not fooled by output that looks like a marker of another command", () => {
    const fake = `${commandTokens("ffffffffffffffff").end}0\n__MCP_${"0123456789abcde"}_E0\n__MCP_0123456789abcdef_J\n`;
    const { stream, output } = feed([frame(fake, 3)]);
    expect(stream.exitCode).toBe(3);
    expect(output.toString()).toBe(fake);
  });

  it("waits for the status line before finishing", () => {
    const data = frame("out", 7);
    const { done } = feed([data.subarray(0, data.length - 2)]);
    expect(done).toBe(false);
  });

  it("passes binary bytes through untouched", () => {
    const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(feed([frame(bin)]).output.equals(bin)).toBe(true);
  });
});

describe("CappedOutput", () => {
  it("keeps everything under the cap", () => {
    const out = new CappedOutput(100);
    out.push(Buffer.from("a".repeat(60)));
    out.push(Buffer.from("b".repeat(40)));
    expect(out.text()).toBe("a".repeat(60) + "b".repeat(40));
    expect(out.omittedBytes).toBe(0);
  });

  it("keeps the head and the tail and says how much it left out", () => {
    const out = new CappedOutput(100);
    for (let i = 0; i < 1000; i++) out.push(Buffer.from(String(i % 10).repeat(7)));
    const text = out.text();
    expect(out.totalBytes).toBe(7000);
    expect(text.startsWith("0000000111")).toBe(true);
    expect(text.endsWith("8889999999")).toBe(true);
    expect(text).toContain("[ssh-mcp: 6900 bytes of output omitted; showing the first 50 and the last 50 of 7000 bytes]");
  });

  it("handles one chunk far larger than the cap", () => {
    const out = new CappedOutput(10);
    out.push(Buffer.from("0123456789".repeat(1000) + "END"));
    expect(out.text().startsWith("01234")).toBe(true);
    expect(out.text().endsWith("89END")).toBe(true);
  });

  it("never cuts a multi-byte character in half", () => {
    const out = new CappedOutput(21);
    out.push(Buffer.from("€".repeat(1000)));
    expect(out.text()).not.toContain("\uFFFD");
  });
});

describe("shellQuote and parseJobIds", () => {
  it("quotes single quotes so the word cannot be broken out of", () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it("parses bash and zsh job listings", () => {
    expect(parseJobIds("12\n34\n")).toEqual([12, 34]);
    expect(parseJobIds("[2]  - 99 running sleep 5\n")).toEqual([99]);
    expect(parseJobIds("stray 5\n3\n4\n")).toEqual([3, 4]);
  });
});

describe("CommandStream with long output", () => {
  it("finds the end token however a long output is cut, copying nothing it need not", () => {
    const body = Buffer.from("x".repeat(100_000) + "__MCP_" + "y".repeat(5000));
    const data = frame(body, 5);
    for (const size of [1, 7, 16, 17, 33, 1000, 32768]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
      const { done, stream, output } = feed(chunks);
      expect(done, `chunk size ${size}`).toBe(true);
      expect(stream.exitCode).toBe(5);
      expect(output.equals(body), `chunk size ${size}`).toBe(true);
    }
  });
});

describe("CommandStream remainder", () => {
  it("keeps what follows the status line for the next command's parser", () => {
    const next = commandTokens("fedcba9876543210");
    const { stream } = feed([Buffer.concat([frame("a", 0), Buffer.from(`12\n${next.jobs}\nstray`)])]);
    expect(stream.remainder.toString()).toBe(`12\n${next.jobs}\nstray`);
  });
});
