// `npm run bench`: how fast ssh-mcp is next to what it is built from and what users do without it.
// Prints one markdown table (also written to bench/results.md) with a pass/miss per target.
// Everything runs against a private sshd on loopback.
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { bareSsh2Sink, fileTransfers, latency, outputScaling, sessionScaling } from "./figures.mjs";
import { buildRows, header, notes, table } from "./report.mjs";
import { startSshd } from "../test/support/servers.mjs";
import { MB, now } from "./stats.mjs";

// Sized so the whole run stays well under 3 minutes on 2 cores.
const N = {
  warmup: 50,
  latency: 400, // per figure, interleaved call by call
  freshSsh: 30,
  controlMaster: 100,
  startSession: 20,
  scalingExec: 200,
  startBatch: 10,
};
const OUTPUT_SIZES = [
  { label: "1 KB", bytes: 1024, runs: 5 },
  { label: "1 MB", bytes: MB, runs: 5 },
  { label: "10 MB", bytes: 10 * MB, runs: 5 },
  { label: "100 MB", bytes: 100 * MB, runs: 3 },
];
const SESSION_COUNTS = [1, 10, 100];
const TRANSFER = { bytes: 100 * MB, runs: 5 };

async function main() {
  const started = now();
  const load = loadavg()[0];
  const sshd = await startSshd({ bench: true });
  let figures;
  try {
    const lat = await latency(sshd, N);
    const out = await outputScaling(sshd, OUTPUT_SIZES);
    const sink = await bareSsh2Sink(sshd, 100 * MB);
    const sess = await sessionScaling(sshd, SESSION_COUNTS, N);
    const files = await fileTransfers(sshd, TRANSFER.bytes, TRANSFER.runs);
    figures = { lat, out, sink, sess, files };
  } finally {
    await sshd.cleanup();
  }
  const body = `${table(buildRows(figures))}\n\n${notes(figures)}\n`;
  const markdown = `${header(now() - started, load)}\n\n${body}`;
  writeFileSync(join(import.meta.dirname, "results.md"), markdown);
  process.stdout.write(markdown);
}

main().catch((error) => {
  console.error(`bench failed: ${error?.stack ?? error}`);
  process.exit(1);
});
