// The measurements. Each function returns plain numbers; report.mjs turns them into the table.
// Every loop has a fixed count.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "./mcp.mjs";
import { freshSsh, rawShell, scpOverMaster, sshPipedToWc, startControlMaster } from "./ssh.mjs";
import { MB, now, procStatus, summary, timeRuns, withPeakRss } from "./stats.mjs";
import { createRuntime, readConfig } from "../build/lib.js";

const progress = (message) => process.stderr.write(`bench: ${message}\n`);

// The wrapper ssh-mcp sends around each command, and the functions it calls (defined once per
// shell). Internal to the build, so a refactor that moves them only drops the diagnostic row.
const { commandScript, initScript } = await import("../build/session/shell-script.js").catch(() => ({}));

/**
 * Figures 1-4. exec, the MCP no-op and the bare ssh2 shell (plus two diagnostics) take turns
 * call by call, so load from anything else on the machine falls on all of them alike.
 */
export async function latency(sshd, n) {
  const server = await startServer(sshd);
  const raw = await rawShell(sshd);
  if (initScript) await raw.send(initScript("bench_ready", "bench_first").trimEnd());
  const home = mkdtempSync(join(tmpdir(), "ssh-mcp-bench-home-"));
  const runtime = createRuntime(readConfig({}, home));
  try {
    const sid = await server.startSession();
    await runtime.store.add({ host_id: "bench", host: sshd.host, port: sshd.port, username: sshd.user, keyPath: sshd.keyPath });
    const direct = await runtime.sessions.start("bench");
    // A command handed back and still running, for the cost of polling it with read-output.
    const busy = await server.startSession();
    await server.ok("exec", { session_id: busy, command: "sleep 100000", yield_ms: 0 });
    const tokenId = () => `bench${Math.random().toString(16).slice(2)}`;
    const fns = {
      exec: () => server.exec(sid, "true"),
      noop: () => server.ok("list-sessions"),
      poll: () => server.ok("read-output", { session_id: busy, wait_ms: 0 }),
      shell: () => raw.send(),
      // The session layer without MCP or stdio: SessionManager in this process.
      direct: () => runtime.sessions.exec(direct.sessionId, "true"),
      // The same shell round trip, but carrying ssh-mcp's per-command wrapper.
      ...(commandScript && initScript && { wrapped: () => raw.send(commandScript(tokenId(), "true", tokenId()).trimEnd()) }),
    };
    const times = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
    progress(`exec, MCP no-op, ssh2 shell and diagnostics: ${n.warmup} warm-up + ${n.latency} each, interleaved`);
    for (let i = 0; i < n.warmup + n.latency; i++) {
      for (const [name, fn] of Object.entries(fns)) {
        const t0 = now();
        await fn();
        if (i >= n.warmup) times[name].push(now() - t0);
      }
    }
    await runtime.sessions.closeAll();
    await server.ok("interrupt", { session_id: busy });

    progress(`fresh ssh x ${n.freshSsh}`);
    const fresh = summary(await timeRuns(n.freshSsh, () => freshSsh(sshd, "true"), 2));

    progress(`ControlMaster ssh -S x ${n.controlMaster}`);
    const cm = await startControlMaster(sshd);
    let mux;
    try {
      mux = summary(await timeRuns(n.controlMaster, () => cm.run("true"), 5));
    } finally {
      await cm.stop();
    }

    progress(`start-session / close-session x ${n.startSession}`);
    const starts = [];
    const closes = [];
    for (let i = 0; i < n.startSession; i++) {
      let t0 = now();
      const id = await server.startSession();
      starts.push(now() - t0);
      t0 = now();
      await server.closeSession(id);
      closes.push(now() - t0);
    }
    return {
      ...Object.fromEntries(Object.entries(times).map(([k, v]) => [k, summary(v)])),
      fresh,
      mux,
      start: summary(starts),
      close: summary(closes),
    };
  } finally {
    await runtime.sessions.closeAll();
    rmSync(home, { recursive: true, force: true });
    raw.close();
    await server.close();
  }
}

const bigOutput = (bytes) => `head -c ${bytes} /dev/zero | tr '\\0' x`;

/** Figure 5. A fresh server per size, so every size's peak is measured from the same baseline. */
export async function outputScaling(sshd, sizes) {
  const results = [];
  for (const size of sizes) {
    progress(`output ${size.label} x ${size.runs}`);
    const server = await startServer(sshd);
    let exec;
    let growth;
    let baseline;
    try {
      const sid = await server.startSession();
      // Warm the paths a big output takes (cap buffers, JIT) before taking the baseline.
      for (let i = 0; i < 5; i++) await server.exec(sid, bigOutput(256 * 1024));
      baseline = procStatus(server.pid, "VmRSS");
      const times = [];
      const { peak } = await withPeakRss(server.pid, async () => {
        for (let i = 0; i < size.runs; i++) {
          const t0 = now();
          const text = await server.exec(sid, bigOutput(size.bytes), 120_000);
          times.push(now() - t0);
          checkOutput(text, size.bytes);
        }
      });
      exec = summary(times);
      growth = peak - baseline;
    } finally {
      await server.close();
    }
    const plainTimes = [];
    for (let i = 0; i < size.runs; i++) {
      const t0 = now();
      const count = await sshPipedToWc(sshd, bigOutput(size.bytes));
      plainTimes.push(now() - t0);
      if (count !== size.bytes) throw new Error(`plain ssh printed ${count} bytes, expected ${size.bytes}`);
    }
    results.push({ ...size, exec, plain: summary(plainTimes), growth, baseline });
  }
  return results;
}

/** The exec result must account for every byte, kept or counted and dropped. */
function checkOutput(text, bytes) {
  const notice = /of (\d+) bytes\]/.exec(text);
  const total = notice ? Number(notice[1]) : Buffer.byteLength(text);
  if (total !== bytes) throw new Error(`exec reported ${total} bytes of output, expected ${bytes}`);
}

/** Figure 5's memory floor: a bare ssh2 client in its own process reading the same bytes. */
export function bareSsh2Sink(sshd, bytes) {
  progress(`bare ssh2 client reading ${bytes / MB} MB`);
  const script = join(import.meta.dirname, "ssh2-sink.mjs");
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [script, String(sshd.port), sshd.user, sshd.keyPath, String(bytes)], { timeout: 90_000 }, (error, stdout) =>
      error ? reject(error) : resolve(JSON.parse(stdout)),
    ),
  );
}

/** Figure 6. RSS and exec latency as idle sessions pile up on one server. */
export async function sessionScaling(sshd, counts, n) {
  // More sessions than the default cap (SSH_MCP_MAX_SESSIONS, 50) on purpose.
  const server = await startServer(sshd, { env: { SSH_MCP_MAX_SESSIONS: String(Math.max(...counts) + 1) } });
  const levels = [];
  try {
    const sid = await server.startSession();
    let open = 1;
    for (const count of counts) {
      // Bounded: at most count / startBatch batches, started in parallel within a batch.
      while (open < count) {
        const batch = Math.min(n.startBatch, count - open);
        await Promise.all(Array.from({ length: batch }, () => server.startSession()));
        open += batch;
      }
      progress(`${count} session(s) open: exec x ${n.scalingExec}`);
      // A full warm-up at every level, so the first level is not the one that pays for JIT.
      const times = await timeRuns(n.scalingExec, () => server.exec(sid, "true"), n.warmup);
      levels.push({ count, exec: summary(times), rss: procStatus(server.pid, "VmRSS") });
    }
  } finally {
    await server.close();
  }
  return levels;
}

/**
 * Figure 7. upload and download of one file through the server, against OpenSSH's scp (which
 * speaks SFTP since 9.0) multiplexed over a ControlMaster: both move bytes over a connection
 * that is already logged in. Turns alternate run by run; each result's SHA-256 is checked.
 */
export async function fileTransfers(sshd, bytes, runs) {
  const work = mkdtempSync(join(tmpdir(), "ssh-mcp-bench-files-"));
  const source = join(work, "source.bin");
  await new Promise((resolve, reject) =>
    execFile("sh", ["-c", `head -c ${bytes} /dev/urandom > '${source}'`], (error) => (error ? reject(error) : resolve())),
  );
  const expected = await sha256Of(source);
  const server = await startServer(sshd);
  const cm = await startControlMaster(sshd);
  try {
    const sid = await server.startSession();
    const call = (tool, args) => server.call(tool, { session_id: sid, overwrite: true, ...args });
    // Open the SFTP channel and warm the code paths on a small file, as the exec figures do: a big
    // warm-up would grow the heap before the baseline is taken and hide the growth measured here.
    const warm = join(work, "warm.bin");
    await new Promise((resolve, reject) => execFile("sh", ["-c", `head -c ${MB} /dev/urandom > '${warm}'`], (e) => (e ? reject(e) : resolve())));
    for (let i = 0; i < 3; i++) {
      await call("upload", { local_path: warm, remote_path: join(work, "warm-remote.bin") });
      await call("download", { remote_path: join(work, "warm-remote.bin"), local_path: join(work, "warm-back.bin") });
    }
    const t = { upload: [], download: [], scpUp: [], scpDown: [] };
    const baseline = procStatus(server.pid, "VmRSS");
    progress(`upload and download ${bytes / MB} MB x ${runs}, and scp over a ControlMaster`);
    const { peak } = await withPeakRss(server.pid, async () => {
      for (let i = 0; i < runs; i++) {
        let t0 = now();
        const up = await call("upload", { local_path: source, remote_path: join(work, "up.bin") });
        t.upload.push(now() - t0);
        t0 = now();
        const down = await call("download", { remote_path: join(work, "up.bin"), local_path: join(work, "down.bin") });
        t.download.push(now() - t0);
        for (const r of [up, down]) if (r.sha256 !== expected) throw new Error(`SHA-256 mismatch: ${r.sha256} != ${expected}`);
        t0 = now();
        await scpOverMaster(sshd, cm.sock, { path: source }, { remote: true, path: join(work, "scp-up.bin") });
        t.scpUp.push(now() - t0);
        t0 = now();
        await scpOverMaster(sshd, cm.sock, { remote: true, path: join(work, "scp-up.bin") }, { path: join(work, "scp-down.bin") });
        t.scpDown.push(now() - t0);
      }
    });
    for (const f of ["scp-up.bin", "scp-down.bin"]) if ((await sha256Of(join(work, f))) !== expected) throw new Error(`scp copy ${f} differs`);
    return { bytes, ...Object.fromEntries(Object.entries(t).map(([k, v]) => [k, summary(v)])), growth: peak - baseline, baseline };
  } finally {
    await cm.stop();
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

function sha256Of(path) {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (c) => hash.update(c))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject);
  });
}
