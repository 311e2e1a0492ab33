import { describe, expect, it } from "vitest";
import { LastLine, MAX_LINE_CHARS } from "../../src/session/last-line.js";

const feed = (...chunks: string[]) => {
  const line = new LastLine();
  for (const c of chunks) line.push(Buffer.from(c));
  return line.text();
};

describe("LastLine (progress messages)", () => {
  it("is the last non-blank line, wherever chunks are cut", () => {
    expect(feed("one\ntwo\n")).toBe("two");
    expect(feed("one\ntw", "o\n\n  \n")).toBe("two");
    expect(feed("compiling a.c\ncompil", "ing b.c")).toBe("compiling b.c");
    expect(feed("")).toBe("");
    expect(feed("\n\n")).toBe("");
  });

  it("takes a carriage return as a line end, so a progress bar shows its latest state", () => {
    expect(feed("10%\r20%\r", "30%\r")).toBe("30%");
    expect(feed("downloading\n 45% [====>     ]\r 46% [=====>    ]")).toBe("46% [=====>    ]");
  });

  it("trims to 200 characters and keeps whole multi-byte characters", () => {
    expect(feed(`${"é".repeat(500)}\n`)).toBe("é".repeat(MAX_LINE_CHARS));
    expect(feed("x".repeat(10_000))).toHaveLength(MAX_LINE_CHARS);
  });

  it("keeps a bounded piece of an endless line, then the line after it", () => {
    const huge = Buffer.alloc(8 * 1024 * 1024, 0x61);
    const line = new LastLine();
    for (let i = 0; i < 4; i++) line.push(huge);
    expect(line.text()).toBe("a".repeat(MAX_LINE_CHARS));
    line.push(Buffer.from("\nlast\n"));
    expect(line.text()).toBe("last");
  });
});
