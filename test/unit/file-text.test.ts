import { describe, expect, it } from "vitest";
import { BinaryFileError, EditMatchError, InvalidPathError, NotUtf8Error } from "../../src/files/file-errors.js";
import { parseRemotePath, resolveLocalPath, underDir } from "../../src/files/file-paths.js";
import { applyEdit } from "../../src/files/text-edit.js";
import { TextPager, type PageRequest } from "../../src/files/text-page.js";

/** Push `text` through a pager in chunks of `chunk` bytes. */
function page(data: string | Buffer, request: Partial<PageRequest> = {}, chunk = 3) {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const pager = new TextPager("/f", { offset: 1, limit: 1000, maxBytes: 1 << 20, ...request });
  for (let at = 0; at < bytes.length; at += chunk) pager.push(bytes.subarray(at, at + chunk));
  return pager.finish();
}

describe("TextPager", () => {
  it("counts lines with and without a final newline, and an empty file as none", () => {
    expect(page("a\nb\n")).toMatchObject({ text: "a\nb\n", lines: 2, totalLines: 2 });
    expect(page("a\nb")).toMatchObject({ text: "a\nb", lines: 2, totalLines: 2 });
    expect(page("")).toMatchObject({ text: "", lines: 0, totalLines: 0, size: 0 });
    expect(page("\n\n")).toMatchObject({ lines: 2, totalLines: 2 });
  });

  it("returns the requested lines across chunk boundaries, whole lines only within maxBytes", () => {
    const text = "one\ntwo\nthree\nfour\n";
    expect(page(text, { offset: 2, limit: 2 })).toMatchObject({ text: "two\nthree\n", firstLine: 2, lines: 2, totalLines: 4 });
    expect(page(text, { maxBytes: 10 })).toMatchObject({ text: "one\ntwo\n", lines: 2 });
    expect(page(text, { offset: 9 })).toMatchObject({ text: "", lines: 0, totalLines: 4 });
  });

  it("keeps the start of one over-long line, never splitting a character", () => {
    const r = page("ééééé\nx\n", { maxBytes: 5 }, 1);
    expect(r).toMatchObject({ text: "éé", lines: 1, lineCut: true, totalLines: 2 });
  });

  it("refuses NUL bytes as binary and invalid or truncated UTF-8", () => {
    expect(() => page(Buffer.from([0x61, 0x00, 0x62]))).toThrow(BinaryFileError);
    expect(() => page(Buffer.from([0x61, 0xff, 0x62]))).toThrow(NotUtf8Error);
    expect(() => page(Buffer.from([0x61, 0xc3]))).toThrow(NotUtf8Error);
  });
});

describe("applyEdit", () => {
  it("replaces exactly one occurrence, or all with replaceAll, literally", () => {
    expect(applyEdit("/f", "a b c", "b", "$&$1", false)).toEqual({ text: "a $&$1 c", replacements: 1 });
    expect(applyEdit("/f", "aaaa", "aa", "b", true)).toEqual({ text: "bb", replacements: 2 });
  });

  it("refuses absent and ambiguous text with the count", () => {
    expect(() => applyEdit("/f", "abc", "x", "y", false)).toThrow(/not found in \/f/);
    const ambiguous = (() => {
      try {
        applyEdit("/f", "x x x", "x", "y", false);
      } catch (error) {
        return error;
      }
    })();
    expect(ambiguous).toBeInstanceOf(EditMatchError);
    expect((ambiguous as EditMatchError).count).toBe(3);
  });
});

describe("paths", () => {
  it("anchors remote paths at /, the home or the shell's directory", () => {
    expect(parseRemotePath("/etc/../etc/hosts", "path")).toEqual({ base: "absolute", path: "/etc/hosts" });
    expect(parseRemotePath("~", "path")).toEqual({ base: "home", rest: "." });
    expect(parseRemotePath("~/a/b", "path")).toEqual({ base: "home", rest: "a/b" });
    expect(parseRemotePath("a/b", "path")).toEqual({ base: "cwd", rest: "a/b" });
    expect(underDir("/srv/app", "../x")).toBe("/srv/x");
    expect(underDir("/root", ".")).toBe("/root");
  });

  it("refuses empty paths, NUL bytes and ~user", () => {
    expect(() => parseRemotePath("", "path")).toThrow(InvalidPathError);
    expect(() => parseRemotePath("a\0b", "path")).toThrow(/NUL/);
    expect(() => parseRemotePath("~bob/x", "path")).toThrow(/~user/);
    expect(() => resolveLocalPath("~bob/x", "local_path", "/home/me")).toThrow(/~user/);
  });

  it("resolves local paths against the working directory and the home", () => {
    expect(resolveLocalPath("~/x", "local_path", "/home/me", "/work")).toBe("/home/me/x");
    expect(resolveLocalPath("out/x", "local_path", "/home/me", "/work")).toBe("/work/out/x");
  });
});
