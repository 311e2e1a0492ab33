// Turns the figures into one markdown table with a pass/miss per target, and the notes under it.
import { execFileSync } from "node:child_process";
import { cpus, loadavg, release } from "node:os";
import { MB, fmtMB, fmtMs } from "./stats.mjs";

const CHUNK_NOTE = "128 KiB requests, 32 in flight (4 MiB), whatever the file size";
const verdict = (ok, detail) => `${ok ? "**pass**" : "**MISS**"} (${detail})`;
const times = (a, b) => `${(a / b).toFixed(2)}×`;
const faster = (slow, fast) => `${(slow / fast).toFixed(slow / fast >= 20 ? 0 : 1)}×`;

/** Rows of the table: figure | median | p99 | compared with | target | result. */
export function buildRows({ lat, out, sink, sess, files }) {
  const rows = [];
  const row = (figure, median, p99 = "—", comparedWith = "—", target = "—", result = "—") =>
    rows.push([figure, median, p99, comparedWith, target, result]);
  const timed = (figure, s, ...rest) => row(`${figure} (n=${s.n})`, fmtMs(s.p50), fmtMs(s.p99), ...rest);

  // 1-2: exec on a warm session and its floor.
  const floor = lat.noop.p50 + lat.shell.p50;
  timed("exec `true`, warm session", lat.exec, `floor ${fmtMs(floor)} = MCP no-op p50 + ssh2 shell p50`, "≤ 1.5× floor",
    verdict(lat.exec.p50 <= 1.5 * floor, times(lat.exec.p50, floor)));
  timed("floor: MCP no-op round trip (list-sessions)", lat.noop, "—");
  timed("read-output poll of a running command (`wait_ms: 0`)", lat.poll, `MCP no-op p50 ${fmtMs(lat.noop.p50)}`, "≤ 1.5× MCP no-op",
    verdict(lat.poll.p50 <= 1.5 * lat.noop.p50, times(lat.poll.p50, lat.noop.p50)));
  timed("floor: bare ssh2 shell round trip (`true` + marker)", lat.shell, "—");
  if (lat.wrapped) {
    timed("diagnostic: bare ssh2 shell carrying ssh-mcp's per-command wrapper", lat.wrapped,
      `+${fmtMs(lat.wrapped.p50 - lat.shell.p50)} over the bare shell`);
  }
  timed("diagnostic: SessionManager.exec in-process (no MCP, no stdio)", lat.direct,
    lat.wrapped ? `+${fmtMs(lat.direct.p50 - lat.wrapped.p50)} over the wrapped shell` : "—");

  // 3: what users do without ssh-mcp.
  timed("fresh `ssh host true` per command", lat.fresh, `exec is ${faster(lat.fresh.p50, lat.exec.p50)} faster`,
    "exec ≥ 200× faster", verdict(lat.fresh.p50 >= 200 * lat.exec.p50, faster(lat.fresh.p50, lat.exec.p50)));
  timed("ControlMaster `ssh -S sock host true`", lat.mux, `exec is ${faster(lat.mux.p50, lat.exec.p50)} faster`,
    "exec faster", verdict(lat.exec.p50 < lat.mux.p50, faster(lat.mux.p50, lat.exec.p50)));

  // 4: session start.
  timed("start-session", lat.start, `fresh ssh p50 ${fmtMs(lat.fresh.p50)}`, "≤ 2× fresh ssh",
    verdict(lat.start.p50 <= 2 * lat.fresh.p50, times(lat.start.p50, lat.fresh.p50)));
  timed("close-session", lat.close);

  // 5: output scaling.
  for (const o of out) {
    timed(`exec, ${o.label} of output: wall time`, o.exec, `plain \`ssh host cmd | wc -c\` p50 ${fmtMs(o.plain.p50)}`,
      "≤ 2× plain ssh", verdict(o.exec.p50 <= 2 * o.plain.p50, times(o.exec.p50, o.plain.p50)));
  }
  const o10 = out.find((o) => o.bytes === 10 * MB);
  const o100 = out.find((o) => o.bytes === 100 * MB);
  row("exec time per MB, 100 MB vs 10 MB (linear?)", `${(o100.exec.p50 / 100).toFixed(2)} ms/MB`, "—",
    `${(o10.exec.p50 / 10).toFixed(2)} ms/MB at 10 MB`, "≤ 1.25× (linear)",
    verdict(o100.exec.p50 / 100 <= 1.25 * (o10.exec.p50 / 10), times(o100.exec.p50 / 100, o10.exec.p50 / 10)));
  for (const o of out) {
    const big = o.bytes === 100 * MB;
    row(`server peak RSS growth, ${o.label} of output (over ${o.runs} runs)`, fmtMB(o.growth), "—",
      `baseline RSS ${fmtMB(o.baseline)}` + (big ? `; bare ssh2 client: ${fmtMB(sink.growth)}` : ""),
      big ? "< 50 MB" : "flat", big ? verdict(o.growth < 50 * MB, fmtMB(o.growth)) : "—");
  }
  row("diagnostic: bare ssh2 client reading 100 MB (own process), peak RSS growth", fmtMB(sink.growth), "—",
    `read in ${fmtMs(sink.ms)}`);

  // 6: session scaling.
  for (const s of sess) {
    timed(`exec \`true\` with ${s.count} session(s) open`, s.exec, `server RSS ${fmtMB(s.rss)}`);
  }
  const first = sess[0];
  const last = sess[sess.length - 1];
  const perSession = (last.rss - first.rss) / (last.count - first.count);
  row("server memory per idle session", fmtMB(perSession), "—", `RSS ${fmtMB(first.rss)} → ${fmtMB(last.rss)} (${first.count} → ${last.count})`,
    "< 2 MB", verdict(perSession < 2 * MB, fmtMB(perSession)));
  row(`exec p50 with ${last.count} sessions vs ${first.count}`, fmtMs(last.exec.p50), fmtMs(last.exec.p99),
    `${fmtMs(first.exec.p50)} with ${first.count}`, "≤ 1.2×", verdict(last.exec.p50 <= 1.2 * first.exec.p50, times(last.exec.p50, first.exec.p50)));

  // 7: file transfers against OpenSSH's scp on an already logged-in connection.
  const size = `${files.bytes / MB} MB`;
  timed(`upload ${size}`, files.upload, `scp over a ControlMaster p50 ${fmtMs(files.scpUp.p50)}`, "≤ 1.2× scp",
    verdict(files.upload.p50 <= 1.2 * files.scpUp.p50, times(files.upload.p50, files.scpUp.p50)));
  timed(`download ${size}`, files.download, `scp over a ControlMaster p50 ${fmtMs(files.scpDown.p50)}`, "≤ 1.2× scp",
    verdict(files.download.p50 <= 1.2 * files.scpDown.p50, times(files.download.p50, files.scpDown.p50)));
  timed(`baseline: \`scp file host:\` ${size} over a ControlMaster`, files.scpUp);
  timed(`baseline: \`scp host:file .\` ${size} over a ControlMaster`, files.scpDown);
  row(`server peak RSS growth over the uploads and downloads of ${size}`, fmtMB(files.growth), "—", `baseline RSS ${fmtMB(files.baseline)}`,
    "< 50 MB", verdict(files.growth < 50 * MB, fmtMB(files.growth)));
  return rows;
}

/** The rows as a GitHub markdown table. */
export function table(rows) {
  const head = ["figure", "median", "p99", "compared with", "target", "result"];
  const cell = (s) => String(s).replace(/\|/g, "\\|");
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

/** Date, machine and tool versions; `load` is the 1-minute load average when the bench began. */
export function header(wallMs, load) {
  // ssh -V writes to stderr.
  const ssh = execFileSync("sh", ["-c", "ssh -V 2>&1"], { encoding: "utf8" }).trim();
  return [
    "# ssh-mcp benchmark",
    "",
    `- ${new Date().toISOString()}; node ${process.version}; ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"}); Linux ${release()}`,
    `- ${ssh}; a private sshd on 127.0.0.1, ed25519 keys; remote HOME is an empty dir, so no rc files run`,
    `- bench wall time: ${(wallMs / 1000).toFixed(1)} s; 1-minute load average ${load.toFixed(2)} at the start, ${loadavg()[0].toFixed(2)} at the end (other work on the machine shows in the p99s)`,
  ].join("\n");
}

/** Where the time goes, in numbers from this run. */
export function notes({ lat, out, sink, files }) {
  const floor = lat.noop.p50 + lat.shell.p50;
  const o100 = out.find((o) => o.bytes === 100 * MB);
  const o1 = out.find((o) => o.bytes === MB);
  const lines = [
    "## Where the time goes",
    "",
    `- **exec** (${fmtMs(lat.exec.p50)} p50) against its floor (${fmtMs(floor)}: MCP no-op ${fmtMs(lat.noop.p50)} + bare ssh2 shell ${fmtMs(lat.shell.p50)}): ` +
      `the server adds ${fmtMs(lat.exec.p50 - floor)} per call.` +
      (lat.wrapped
        ? ` In the shell, the per-command wrapper (\`__mcp_cmd=…; __mcp_eval; __mcp_end\`: the command through \`eval\` with \`</dev/null 2>&1\`, end token with the status, then the next command's header: \`jobs\`, \`jobs -p\`, jobs token) costs ${fmtMs(lat.wrapped.p50 - lat.shell.p50)} over a bare \`true\`:` +
          " bash reads a script from a pipe one byte at a time and opens /dev/null twice. The next command's header is printed after the end token, off exec's critical path; this row waits for all of it." +
          ` In JS, SessionManager.exec in-process takes ${fmtMs(lat.direct.p50)}, ${fmtMs(lat.direct.p50 - lat.wrapped.p50)} over the same script on a raw channel;` +
          ` MCP and stdio around it add ${fmtMs(lat.exec.p50 - lat.direct.p50)} (a no-op tool call: ${fmtMs(lat.noop.p50)}).`
        : ""),
    `- **Fresh ssh** (${fmtMs(lat.fresh.p50)}) pays for a process, key exchange, authentication and a forked sshd session every time;` +
      ` **ControlMaster** (${fmtMs(lat.mux.p50)}) skips the handshake but still starts an ssh client and a remote process per command.` +
      ` exec pays neither after **start-session** (${fmtMs(lat.start.p50)}: ssh2 handshake in JS, shell start, one init line).` +
      ` 200× fresh ssh means fresh ssh ≥ ${fmtMs(200 * lat.exec.p50)} at this exec p50: it depends on how slow a fresh login is on the machine, not on ssh-mcp.`,
    `- **Large output** streams through a fixed head+tail cap (SSH_MCP_MAX_OUTPUT_BYTES, 64 KiB by default): the rest is counted and dropped, so the reply stays ~64 KiB at any size.` +
      ` 100 MB took ${fmtMs(o100.exec.p50)} (${(100 / (o100.exec.p50 / 1000)).toFixed(0)} MB/s) against ${fmtMs(o100.plain.p50)} for OpenSSH into \`wc -c\`, connection included.` +
      ` Peak RSS growth is garbage between collections, not retained output: a bare ssh2 client grows ${fmtMB(sink.growth)} reading the same 100 MB.` +
      (o1 && o1.exec.p50 > 30
        ? ` 1 MB took ${fmtMs(o1.exec.p50)}, more per MB than 10 MB: the ~40 ms step is a TCP stall (Nagle on the client socket, a held window adjust, the peer's delayed ACK), which depends on where packet boundaries fall.`
        : ""),
    `- **Files** move over SFTP on the session's connection, ${CHUNK_NOTE}; each tool call includes its SHA-256 and the rename into place.` +
      ` scp (OpenSSH ${"≥"} 9 speaks SFTP too) runs over a ControlMaster, so neither side pays for a login: upload ${fmtMs(files.upload.p50)} vs ${fmtMs(files.scpUp.p50)}, download ${fmtMs(files.download.p50)} vs ${fmtMs(files.scpDown.p50)}.`,
  ];
  return lines.join("\n");
}
