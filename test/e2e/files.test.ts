import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CallToolResultSchema, type Progress } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../support/mcp.js";
import { keyHostArgs, startSshd, type TestSshd } from "../support/sshd.js";

// The five file tools through the SDK client over stdio, against the built server.
let sshd: TestSshd;
let srv: TestServer;
let sid: string;
let dir: string;

beforeAll(async () => {
  sshd = await startSshd();
  srv = await startServer();
  await srv.ok("add-host", keyHostArgs(sshd, "web"));
  sid = await srv.ok("start-session", { host_id: "web" });
  dir = mkdtempSync(join(tmpdir(), "ssh-mcp-e2e-files-"));
  await srv.client.listTools(); // the client validates structuredContent against the schemas it has seen
});
afterAll(async () => {
  await srv?.close();
  await sshd?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const at = (name: string) => join(dir, name);
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** A tool call that records every progress notification it gets. */
async function callWithProgress(name: string, args: Record<string, unknown>) {
  const progress: Progress[] = [];
  const result = await srv.client.callTool({ name, arguments: args }, CallToolResultSchema, {
    onprogress: (p) => progress.push(p),
    timeout: 120_000,
  });
  return { result, progress };
}

describe("file tools over MCP", () => {
  it("declares the annotations of the contract: reads and downloads are read-only, writes destructive", async () => {
    const { tools } = await srv.client.listTools();
    const hints = (name: string) => tools.find((t) => t.name === name)!.annotations;
    expect(hints("read-file")).toEqual({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true });
    expect(hints("download")).toEqual({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true });
    expect(hints("write-file")).toEqual({ readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true });
    expect(hints("edit-file")).toEqual({ readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true });
    expect(hints("upload")).toEqual({ readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true });
    const props = (name: string) => (tools.find((t) => t.name === name)!.inputSchema as { properties: Record<string, unknown> }).properties;
    expect(props("read-file").limit).toMatchObject({ type: "integer", minimum: 1, maximum: 100_000 });
    expect(props("write-file").content).toMatchObject({ maxLength: 512 * 1024 });
    expect(props("upload").local_path).toMatchObject({ maxLength: 4096 });
  });

  it("writes, edits and reads a file, with structured results", async () => {
    const written = await srv.call("write-file", { session_id: sid, path: at("app.conf"), content: "port = 80\nname = 'web'\n" });
    expect(written).toMatchObject({ isError: false, structured: { path: at("app.conf"), bytes: 23, created: true } });
    const edited = await srv.call("edit-file", { session_id: sid, path: at("app.conf"), old_text: "port = 80", new_text: "port = 8080" });
    expect(edited.structured).toEqual({ path: at("app.conf"), replacements: 1, bytes: 25 });
    expect(edited.text).toBe(`Edited ${at("app.conf")}: 1 replacement (now 25 bytes).`);
    const read = await srv.client.callTool({ name: "read-file", arguments: { session_id: sid, path: at("app.conf") } });
    expect(read.content).toEqual([{ type: "text", text: "port = 8080\nname = 'web'\n" }]);
  });

  it("refuses an ambiguous edit with the count, as a tool error the model can read", async () => {
    writeFileSync(at("dup.txt"), "x\nx\n");
    const r = await srv.call("edit-file", { session_id: sid, path: at("dup.txt"), old_text: "x", new_text: "y" });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/appears 2 times.*replace_all/);
  });

  it("reads relative to the directory the session cd'ed into, and pages with a note on how to read on", async () => {
    writeFileSync(at("log.txt"), Array.from({ length: 30 }, (_, i) => `entry ${i + 1}`).join("\n") + "\n");
    await srv.ok("exec", { session_id: sid, command: `cd ${dir}` });
    const page = await srv.client.callTool({ name: "read-file", arguments: { session_id: sid, path: "log.txt", offset: 11, limit: 10 } });
    const content = page.content as Array<{ text: string }>;
    expect(content[0]!.text).toBe(Array.from({ length: 10 }, (_, i) => `entry ${i + 11}`).join("\n") + "\n");
    expect(content[1]!.text).toBe(`[Lines 11-20 of 30 in ${at("log.txt")}. To read on, call read-file with offset 21.]`);
  });

  it("keeps a read-file reply within SSH_MCP_MAX_OUTPUT_BYTES", async () => {
    const small = await startServer({ env: { SSH_MCP_MAX_OUTPUT_BYTES: "1024" } });
    try {
      await small.ok("add-host", keyHostArgs(sshd, "web"));
      const id = await small.ok("start-session", { host_id: "web" });
      writeFileSync(at("wide.txt"), Array.from({ length: 200 }, (_, i) => `${i} ${"y".repeat(60)}`).join("\n"));
      const r = await small.client.callTool({ name: "read-file", arguments: { session_id: id, path: at("wide.txt") } });
      const texts = (r.content as Array<{ text: string }>).map((c) => c.text);
      expect(Buffer.byteLength(texts.join(""))).toBeLessThanOrEqual(1024);
      expect(texts[1]).toMatch(/reply's size limit.*offset \d+/);
    } finally {
      await small.close();
    }
  });

  it("uploads and downloads with progress notifications, bytes and SHA-256", async () => {
    const data = randomBytes(24 * 1024 * 1024);
    writeFileSync(at("payload.bin"), data);
    chmodSync(at("payload.bin"), 0o640);
    const up = await callWithProgress("upload", { session_id: sid, local_path: at("payload.bin"), remote_path: "payload-remote.bin" });
    expect(up.result.structuredContent).toEqual({
      path: at("payload-remote.bin"),
      local_path: at("payload.bin"),
      bytes: data.length,
      sha256: sha256(data),
    });
    expect(statSync(at("payload-remote.bin")).mode & 0o777).toBe(0o640);
    expect(up.progress.length).toBeGreaterThan(0);
    // The SDK client drops a progress notification that arrives in the same read as the result
    // (it forgets the token first), so the last one may be missing on a loaded machine.
    expect(up.progress.every((p) => p.total === data.length && p.progress <= data.length)).toBe(true);
    expect(up.progress.every((p, i) => i === 0 || p.progress > up.progress[i - 1]!.progress)).toBe(true);

    const down = await callWithProgress("download", { session_id: sid, remote_path: "payload-remote.bin", local_path: at("back.bin") });
    expect(down.result.structuredContent).toMatchObject({ bytes: data.length, sha256: sha256(data) });
    // The SDK client drops a progress notification that arrives in the same read as the result
    // (it forgets the token first), so the last one may be missing on a loaded machine.
    expect(down.progress.every((p) => p.total === data.length && p.progress <= data.length)).toBe(true);
    expect(readFileSync(at("back.bin")).equals(data)).toBe(true);
  });

  it("refuses to overwrite without overwrite: true, and refuses binary files in read-file", async () => {
    const again = await srv.call("download", { session_id: sid, remote_path: at("payload-remote.bin"), local_path: at("back.bin") });
    expect(again.isError).toBe(true);
    expect(again.text).toBe(`${at("back.bin")} already exists on this machine. Pass overwrite: true to replace it, or choose another path.`);
    writeFileSync(at("tool.bin"), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x00, 0x00]));
    const binary = await srv.call("read-file", { session_id: sid, path: at("tool.bin") });
    expect(binary).toMatchObject({ isError: true, text: `${at("tool.bin")} is a binary file (7 bytes; it contains NUL bytes). Use download to copy it here.` });
    const missing = await srv.call("read-file", { session_id: sid, path: "no/such.txt" });
    expect(missing.text).toBe(`No such file on the host: ${at("no/such.txt")}.`);
    expect(existsSync(at("no"))).toBe(false);
  });

  it("refuses a bad mode and unknown arguments before touching anything", async () => {
    const mode = await srv.call("write-file", { session_id: sid, path: at("m.txt"), content: "x", mode: "999" });
    expect(mode).toMatchObject({ isError: true });
    expect(mode.text).toMatch(/octal/);
    const unknown = await srv.call("upload", { session_id: sid, local_path: at("a"), remote_path: at("b"), overwrite: false, force: true });
    expect(unknown.text).toMatch(/Unknown argument 'force'/);
    expect(existsSync(at("m.txt"))).toBe(false);
  });
});
