import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BinaryFileError,
  DiskFullError,
  EditMatchError,
  FileExistsError,
  FileNotFoundError,
  FileTooLargeError,
  NotAFileError,
  NotUtf8Error,
  TransferCancelledError,
} from "../../src/files/file-errors.js";
import { testRuntime, type TestRuntime } from "../support/runtime.js";
import { startSshd, type TestSshd } from "../support/sshd.js";

// The test sshd runs on this machine, so "remote" files are local files the test can look at.
let sshd: TestSshd;
let rt: TestRuntime;
let id: string;
let dir: string;

beforeAll(async () => {
  sshd = await startSshd();
  rt = testRuntime(sshd, { SSH_MCP_EXEC_TIMEOUT_MS: "60000" });
  await rt.addHost();
  id = (await rt.sessions.start("test")).sessionId;
  dir = mkdtempSync(join(tmpdir(), "ssh-mcp-files-"));
  chmodSync(dir, 0o755);
});
afterAll(async () => {
  await rt?.dispose();
  await sshd?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const files = () => rt.sessions.files(id);
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const at = (...parts: string[]) => join(dir, ...parts);
/** Names in a directory that look like our temporary files. */
const leftovers = (where: string) => readdirSync(where).filter((n) => n.includes(".ssh-mcp-") && n.endsWith(".part"));

function fileSha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (c) => hash.update(c))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject);
  });
}

/** True if tmpfs can be mounted here (root in a namespace that allows it). */
function tryMountTmpfs(where: string, size: string): boolean {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", where], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("read-file", () => {
  it("returns the text exactly: unicode, blank lines, no added newline", async () => {
    const text = "héllo wörld ✓ 日本語 🚀\n\n\ttabbed  'quoted' \"double\" $HOME `tick`\nlast line without newline";
    writeFileSync(at("exact.txt"), text);
    const page = await files().read(at("exact.txt"));
    expect(page.text).toBe(text);
    expect(page).toMatchObject({ path: at("exact.txt"), firstLine: 1, lines: 4, totalLines: 4, lineCut: false });
  });

  it("pages long files by lines, and by bytes within the output cap", async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i + 1}`);
    writeFileSync(at("long.txt"), lines.join("\n") + "\n");
    const first = await files().read(at("long.txt"));
    expect(first.lines).toBe(2000);
    expect(first.text).toBe(lines.slice(0, 2000).join("\n") + "\n");
    expect(first.totalLines).toBe(5000);
    const middle = await files().read(at("long.txt"), { offset: 4990, limit: 5 });
    expect(middle.text).toBe(lines.slice(4989, 4994).join("\n") + "\n");
    const tail = await files().read(at("long.txt"), { offset: 4999 });
    expect(tail.text).toBe("line 4999\nline 5000\n");

    // 2000 lines of 100 bytes do not fit in 64 KiB: the page stops at the last whole line that fits.
    const wide = Array.from({ length: 2000 }, (_, i) => `${String(i + 1).padStart(5, "0")}${"x".repeat(94)}`);
    writeFileSync(at("wide.txt"), wide.join("\n") + "\n");
    const page = await files().read(at("wide.txt"));
    expect(Buffer.byteLength(page.text)).toBeLessThanOrEqual(64 * 1024);
    expect(page.lines).toBeGreaterThan(500);
    expect(page.text).toBe(wide.slice(0, page.lines).join("\n") + "\n");
  });

  it("cuts a single line longer than the cap on a character boundary", async () => {
    writeFileSync(at("oneline.txt"), "é".repeat(100_000) + "\nnext\n");
    const page = await files().read(at("oneline.txt"));
    expect(page.lineCut).toBe(true);
    expect(page.text).toMatch(/^é+$/);
    expect(Buffer.byteLength(page.text)).toBeLessThanOrEqual(64 * 1024);
  });

  it("refuses binary files with their size, and invalid UTF-8, pointing to download", async () => {
    writeFileSync(at("blob.bin"), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01, 0x02]));
    const binary = await files().read(at("blob.bin")).catch((e: unknown) => e);
    expect(binary).toBeInstanceOf(BinaryFileError);
    expect((binary as Error).message).toMatch(/binary file \(7 bytes.*download/);
    writeFileSync(at("latin1.txt"), Buffer.from("caf\xe9\n", "latin1"));
    const latin = await files().read(at("latin1.txt")).catch((e: unknown) => e);
    expect(latin).toBeInstanceOf(NotUtf8Error);
    expect((latin as Error).message).toContain(at("latin1.txt"));
  });

  it("refuses a file too large to read, a directory and a missing file, naming the path", async () => {
    writeFileSync(at("huge.log"), Buffer.alloc(17 * 1024 * 1024, 0x61));
    await expect(files().read(at("huge.log"))).rejects.toThrow(FileTooLargeError);
    await expect(files().read(at("huge.log"))).rejects.toThrow(/download/);
    await expect(files().read(dir)).rejects.toThrow(NotAFileError);
    await expect(files().read(at("nope.txt"))).rejects.toThrow(new FileNotFoundError(at("nope.txt"), "remote").message);
    rmSync(at("huge.log"));
  });
});

describe("write-file", () => {
  it("creates a file, then replaces it keeping its mode and owner", async () => {
    const created = await files().write(at("conf.yml"), "a: 1\n");
    expect(created).toEqual({ path: at("conf.yml"), bytes: 5, created: true });
    chmodSync(at("conf.yml"), 0o640);
    chownSync(at("conf.yml"), 65534, 65534);
    const replaced = await files().write(at("conf.yml"), "a: 2\n");
    expect(replaced.created).toBe(false);
    expect(readFileSync(at("conf.yml"), "utf8")).toBe("a: 2\n");
    const st = statSync(at("conf.yml"));
    expect(st.mode & 0o7777).toBe(0o640);
    expect([st.uid, st.gid]).toEqual([65534, 65534]);
    expect(leftovers(dir)).toEqual([]);
  });

  it("sets a given mode, creates parent directories on request, and writes through a symlink", async () => {
    await files().write(at("run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o750 });
    expect(statSync(at("run.sh")).mode & 0o7777).toBe(0o750);
    await expect(files().write(at("a", "b", "c.txt"), "x")).rejects.toThrow(/No such directory on the host: .*\/a\/b/);
    await files().write(at("a", "b", "c.txt"), "x", { createDirs: true });
    expect(readFileSync(at("a", "b", "c.txt"), "utf8")).toBe("x");
    writeFileSync(at("target.txt"), "old");
    execFileSync("ln", ["-s", at("target.txt"), at("link.txt")]);
    await files().write(at("link.txt"), "new");
    expect(readFileSync(at("target.txt"), "utf8")).toBe("new");
    expect(statSync(at("link.txt"), { throwIfNoEntry: true }).isFile()).toBe(true);
    expect(execFileSync("readlink", [at("link.txt")], { encoding: "utf8" }).trim()).toBe(at("target.txt"));
  });

  it("never replaces a directory with a file", async () => {
    mkdirSync(at("adir"));
    await expect(files().write(at("adir"), "x")).rejects.toThrow(NotAFileError);
    expect(statSync(at("adir")).isDirectory()).toBe(true);
  });

  it("is atomic: a reader looping on the file never sees a partial file", async () => {
    const size = 4 * 1024 * 1024;
    const contents = ["a", "b"].map((c) => c.repeat(size));
    writeFileSync(at("atomic.txt"), contents[0]!);
    // A separate process reads the file as fast as it can and reports anything but a whole version.
    const reader = spawn(
      process.execPath,
      [
        "-e",
        `const fs = require("fs"); let reads = 0, bad = 0;
         process.stdin.on("end", () => { console.log(JSON.stringify({ reads, bad })); process.exit(0); }); process.stdin.resume();
         (function loop() { for (let i = 0; i < 20; i++) { const t = fs.readFileSync(process.argv[1], "latin1");
           reads++; if (t.length !== ${size} || (t !== "a".repeat(${size}) && t !== "b".repeat(${size}))) bad++; } setImmediate(loop); })();`,
        at("atomic.txt"),
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    let out = "";
    reader.stdout.on("data", (c: Buffer) => (out += c.toString()));
    for (let i = 0; i < 20; i++) await files().write(at("atomic.txt"), contents[(i + 1) % 2]!);
    const done = new Promise((resolve) => reader.once("exit", resolve));
    reader.stdin.end();
    await done;
    const { reads, bad } = JSON.parse(out) as { reads: number; bad: number };
    expect(reads).toBeGreaterThan(20);
    expect(bad).toBe(0);
  });

  it("leaves the old file untouched and no temporary file when the disk fills", async (ctx) => {
    const small = at("small-fs");
    mkdirSync(small);
    if (!tryMountTmpfs(small, "1m")) return ctx.skip("needs root and mount (a 1 MB tmpfs)");
    try {
      writeFileSync(join(small, "keep.txt"), "old content\n");
      const error = await files().write(join(small, "keep.txt"), "x".repeat(2 * 1024 * 1024)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DiskFullError);
      expect((error as Error).message).toContain(join(small, "keep.txt"));
      expect(readFileSync(join(small, "keep.txt"), "utf8")).toBe("old content\n");
      expect(readdirSync(small)).toEqual(["keep.txt"]);
    } finally {
      execFileSync("umount", [small]);
    }
  });
});

describe("edit-file", () => {
  it("replaces a unique match and reports one replacement, keeping the mode", async () => {
    writeFileSync(at("app.conf"), "port = 80\nhost = web\n");
    chmodSync(at("app.conf"), 0o600);
    const r = await files().edit(at("app.conf"), "port = 80", "port = 8080");
    expect(r).toEqual({ path: at("app.conf"), replacements: 1, bytes: 23 });
    expect(readFileSync(at("app.conf"), "utf8")).toBe("port = 8080\nhost = web\n");
    expect(statSync(at("app.conf")).mode & 0o7777).toBe(0o600);
  });

  it("refuses an absent old_text and leaves the file unchanged", async () => {
    writeFileSync(at("crlf.conf"), "a = 1\r\nb = 2\r\n");
    const error = await files().edit(at("crlf.conf"), "a = 1\nb = 2", "x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EditMatchError);
    expect((error as EditMatchError).count).toBe(0);
    expect((error as Error).message).toMatch(/not found.*\\r\\n/s);
    expect(readFileSync(at("crlf.conf"), "utf8")).toBe("a = 1\r\nb = 2\r\n");
  });

  it("refuses an ambiguous old_text with the count, and replaces all with replace_all", async () => {
    writeFileSync(at("multi.txt"), "foo bar foo baz foo\n");
    const error = await files().edit(at("multi.txt"), "foo", "qux").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EditMatchError);
    expect((error as Error).message).toMatch(/appears 3 times/);
    expect(readFileSync(at("multi.txt"), "utf8")).toBe("foo bar foo baz foo\n");
    const r = await files().edit(at("multi.txt"), "foo", "$&-$1", true);
    expect(r.replacements).toBe(3);
    // new_text is literal: no $& or $1 substitution.
    expect(readFileSync(at("multi.txt"), "utf8")).toBe("$&-$1 bar $&-$1 baz $&-$1\n");
  });

  it("refuses an empty old_text and a change to the same text", async () => {
    await expect(files().edit(at("multi.txt"), "", "x")).rejects.toThrow(/old_text is empty/);
    await expect(files().edit(at("multi.txt"), "bar", "bar")).rejects.toThrow(/nothing to change/);
  });
});

describe("paths", () => {
  it("resolves relative paths against the shell's current directory, ~ against the home", async () => {
    mkdirSync(at("app", "sub"), { recursive: true });
    writeFileSync(at("app", "config.yml"), "in app\n");
    writeFileSync(at("app", "sub", "deep.txt"), "deep\n");
    await rt.sessions.exec(id, `cd ${at("app")}`);
    expect((await files().read("config.yml")).text).toBe("in app\n");
    expect((await files().read("./sub/../config.yml")).path).toBe(at("app", "config.yml"));
    await rt.sessions.exec(id, "cd sub");
    expect((await files().read("deep.txt")).text).toBe("deep\n");
    const name = `.ssh-mcp-files-test-${randomBytes(4).toString("hex")}`;
    try {
      const r = await files().write(`~/${name}`, "home\n");
      expect(r.path).toBe(join(homedir(), name));
      expect(readFileSync(join(homedir(), name), "utf8")).toBe("home\n");
    } finally {
      rmSync(join(homedir(), name), { force: true });
    }
    await rt.sessions.exec(id, "cd ~");
  });

  it("works while a command runs, and sees the directory that command moved to", async () => {
    mkdirSync(at("busy"));
    writeFileSync(at("busy", "here.txt"), "busy dir\n");
    execFileSync("mkfifo", [at("busy", "gate")]);
    let finished = false;
    const running = rt.sessions.exec(id, `cd ${at("busy")} && cat gate`).then((r) => ((finished = true), r));
    // The command waits on the FIFO until the test writes it; meanwhile the file tools must work.
    // Poll until the shell has moved into the directory (it is another process's cd).
    let page;
    for (let i = 0; i < 200; i++) {
      page = await files().read("here.txt").catch(() => undefined);
      if (page) break;
    }
    expect(page?.text).toBe("busy dir\n");
    const down = await files().download("here.txt", at("busy-copy.txt"));
    expect(down.bytes).toBe(9);
    expect(finished).toBe(false);
    writeFileSync(at("busy", "gate"), "released\n");
    expect((await running).output).toBe("released\n");
    await rt.sessions.exec(id, "cd ~");
  });
});

describe("upload and download", () => {
  it("round-trips text and binary files, reporting bytes and SHA-256, keeping the mode", async () => {
    const text = Buffer.from("line one\nzwei ✓\n");
    const binary = randomBytes(1024 * 1024 + 17);
    writeFileSync(at("local.txt"), text);
    writeFileSync(at("local.bin"), binary);
    chmodSync(at("local.bin"), 0o751);
    const up = await files().upload(at("local.bin"), at("remote.bin"));
    expect(up).toEqual({ path: at("remote.bin"), localPath: at("local.bin"), bytes: binary.length, sha256: sha256(binary) });
    expect(statSync(at("remote.bin")).mode & 0o7777).toBe(0o751);
    const down = await files().download(at("remote.bin"), at("back.bin"));
    expect(down.sha256).toBe(sha256(binary));
    expect(readFileSync(at("back.bin")).equals(binary)).toBe(true);
    await files().upload(at("local.txt"), at("remote.txt"));
    expect(readFileSync(at("remote.txt")).equals(text)).toBe(true);
    const empty = at("empty");
    writeFileSync(empty, "");
    expect((await files().upload(empty, at("empty-remote"))).bytes).toBe(0);
    expect((await files().download(at("empty-remote"), at("empty-back"))).sha256).toBe(sha256(Buffer.alloc(0)));
    expect(leftovers(dir)).toEqual([]);
  });

  it("refuses to overwrite on either side without overwrite: true, and replaces with it", async () => {
    writeFileSync(at("src.txt"), "new\n");
    writeFileSync(at("dst.txt"), "old\n");
    await expect(files().upload(at("src.txt"), at("dst.txt"))).rejects.toThrow(FileExistsError);
    await expect(files().download(at("src.txt"), at("dst.txt"))).rejects.toThrow(/already exists on this machine.*overwrite: true/);
    expect(readFileSync(at("dst.txt"), "utf8")).toBe("old\n");
    await files().upload(at("src.txt"), at("dst.txt"), { overwrite: true });
    expect(readFileSync(at("dst.txt"), "utf8")).toBe("new\n");
    writeFileSync(at("dst.txt"), "old\n");
    await files().download(at("src.txt"), at("dst.txt"), { overwrite: true });
    expect(readFileSync(at("dst.txt"), "utf8")).toBe("new\n");
  });

  it("never replaces a directory with a file, even with overwrite", async () => {
    mkdirSync(at("dest-dir"), { recursive: true });
    writeFileSync(at("f.txt"), "f\n");
    await expect(files().upload(at("f.txt"), at("dest-dir"), { overwrite: true })).rejects.toThrow(/is a directory/);
    await expect(files().download(at("f.txt"), at("dest-dir"), { overwrite: true })).rejects.toThrow(/on this machine is a directory/);
    await expect(files().download(at("dest-dir"), at("x"), { overwrite: true })).rejects.toThrow(/on the host is a directory/);
    await expect(files().upload(at("missing"), at("y"))).rejects.toThrow(/No such file on this machine/);
    expect(statSync(at("dest-dir")).isDirectory()).toBe(true);
  });

  it("leaves no partial file when the local disk fills during a download", async (ctx) => {
    const small = at("small-local");
    mkdirSync(small);
    if (!tryMountTmpfs(small, "1m")) return ctx.skip("needs root and mount (a 1 MB tmpfs)");
    try {
      writeFileSync(at("two-mb.bin"), randomBytes(2 * 1024 * 1024));
      const error = await files().download(at("two-mb.bin"), join(small, "two-mb.bin")).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DiskFullError);
      expect((error as Error).message).toMatch(/Disk full on this machine/);
      expect(readdirSync(small)).toEqual([]);
    } finally {
      execFileSync("umount", [small]);
    }
  });

  it("stops a cancelled transfer and leaves no partial file on either side", async () => {
    writeFileSync(at("cancel.bin"), randomBytes(16 * 1024 * 1024));
    for (const direction of ["upload", "download"] as const) {
      const abort = new AbortController();
      const target = at(`cancelled-${direction}.bin`);
      const options = { signal: abort.signal, onProgress: () => abort.abort() };
      const transfer = direction === "upload" ? files().upload(at("cancel.bin"), target, options) : files().download(at("cancel.bin"), target, options);
      await expect(transfer).rejects.toThrow(TransferCancelledError);
      expect(readdirSync(dir).filter((n) => n.includes("cancelled-"))).toEqual([]);
    }
    expect(leftovers(dir)).toEqual([]);
  });

  it("moves 200 MB each way in bounded memory, with the same SHA-256, in order progress", async () => {
    const big = at("big.bin");
    execFileSync("sh", ["-c", `head -c ${200 * 1024 * 1024} /dev/urandom > '${big}'`]);
    const expected = await fileSha256(big);
    const progress: number[] = [];
    const up = await files().upload(big, at("big-remote.bin"), { onProgress: (done) => progress.push(done) });
    expect(up).toMatchObject({ bytes: 200 * 1024 * 1024, sha256: expected });
    expect(await fileSha256(at("big-remote.bin"))).toBe(expected);
    expect(progress.at(-1)).toBe(200 * 1024 * 1024);
    expect(progress.every((p, i) => i === 0 || p > progress[i - 1]!)).toBe(true);
    rmSync(big);
    const down = await files().download(at("big-remote.bin"), at("big-back.bin"));
    expect(down).toMatchObject({ bytes: 200 * 1024 * 1024, sha256: expected });
    expect(await fileSha256(at("big-back.bin"))).toBe(expected);
    rmSync(at("big-remote.bin"));
    rmSync(at("big-back.bin"));
  }, 120_000);

  it("does not hold up the session's commands, and runs its own transfers one at a time", async () => {
    writeFileSync(at("mid.bin"), randomBytes(32 * 1024 * 1024));
    const events: string[] = [];
    let exec: Promise<unknown> | undefined;
    const mark = (name: string) => void (events.at(-1) !== name && events.push(name));
    const first = files()
      .download(at("mid.bin"), at("mid-1.bin"), {
        onProgress: () => {
          mark("1");
          // A command started while the download is under way finishes before it.
          exec ??= rt.sessions.exec(id, "echo alongside").then((r) => (events.push("exec"), r));
        },
      })
      .then(() => events.push("1 done"));
    const second = files()
      .download(at("mid.bin"), at("mid-2.bin"), { onProgress: () => mark("2") })
      .then(() => events.push("2 done"));
    await Promise.all([first, second]);
    expect(await exec).toEqual({ exitCode: 0, output: "alongside\n" });
    expect(events.indexOf("exec")).toBeLessThan(events.indexOf("1 done"));
    // The second transfer's first progress comes only after the first finished.
    expect(events.indexOf("2")).toBeGreaterThan(events.indexOf("1 done"));
  });
});
