import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AuditLog, type AuditRecord } from "../../src/audit/audit-log.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ssh-mcp-audit-"));
  dirs.push(dir);
  return join(dir, "data");
}

const record = (i: number, writer: string): AuditRecord => ({
  time: new Date(0).toISOString(),
  hostId: "h",
  target: "u@h:22",
  sessionId: writer,
  kind: "exec",
  command: `echo ${i} ${"x".repeat(i % 50)}`,
  decision: "allowed",
  status: "exited",
  exitStatus: 0,
});

/** Every line of every audit file in `dir`, parsed. */
function allLines(dir: string): AuditRecord[] {
  return readdirSync(dir)
    .filter((f) => /^audit.*\.jsonl$/.test(f))
    .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean))
    .map((line) => JSON.parse(line) as AuditRecord);
}

describe("AuditLog", () => {
  it("writes one JSON line per record, 0600, in a private directory", async () => {
    const dir = tempDir();
    const log = new AuditLog({ file: join(dir, "audit.jsonl") });
    await log.append(record(1, "a"));
    await log.close();
    expect(allLines(dir)).toEqual([record(1, "a")]);
    expect(statSync(join(dir, "audit.jsonl")).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it("rotates at its size limit without losing a line, with two writers sharing the file", async () => {
    const dir = tempDir();
    const a = new AuditLog({ file: join(dir, "audit.jsonl"), maxBytes: 4096 });
    const b = new AuditLog({ file: join(dir, "audit.jsonl"), maxBytes: 4096 });
    const writes: Array<Promise<void>> = [];
    for (let i = 0; i < 400; i++) writes.push(a.append(record(i, "a")), b.append(record(i, "b")));
    await Promise.all(writes);
    await Promise.all([a.close(), b.close()]);
    const lines = allLines(dir);
    expect(lines).toHaveLength(800);
    for (const writer of ["a", "b"]) {
      expect(lines.filter((l) => l.sessionId === writer).map((l) => Number(l.command!.split(" ")[1])).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 400 }, (_, i) => i),
      );
    }
    expect(readdirSync(dir).filter((f) => /^audit\..+\.jsonl$/.test(f)).length).toBeGreaterThan(2);
  });

  it("masks stored secrets wherever they appear", async () => {
    const dir = tempDir();
    const log = new AuditLog({ file: join(dir, "audit.jsonl") });
    await log.append({ ...record(1, "a"), command: 'mysql -p"hunter2\\x" -e ok' }, ['hunter2\\x', "ab"]);
    await log.close();
    const text = readFileSync(join(dir, "audit.jsonl"), "utf8");
    expect(text).not.toContain("hunter2");
    expect(JSON.parse(text).command).toBe('mysql -p"***" -e ok');
  });

  it("refuses to write through a symbolic link planted where the log goes, and says so", async () => {
    const dir = tempDir();
    const warnings: string[] = [];
    const log = new AuditLog({ file: join(dir, "audit.jsonl"), warn: (m) => warnings.push(m) });
    await log.append(record(0, "a"));
    await log.close();
    rmSync(join(dir, "audit.jsonl"));
    symlinkSync(join(dir, "elsewhere"), join(dir, "audit.jsonl"));
    const again = new AuditLog({ file: join(dir, "audit.jsonl"), warn: (m) => warnings.push(m) });
    await again.append(record(1, "a"));
    expect(warnings.join("\n")).toMatch(/could not write the audit log/);
    expect(() => statSync(join(dir, "elsewhere"))).toThrow();
  });
});
