// Child process: a bare ssh2 client that reads one command's output and throws it away, then
// prints {ms, growth} as JSON. It is the memory floor for figure 5: what ssh2 alone costs
// for the same bytes, with nothing of ssh-mcp or MCP in the process.
// Usage: node ssh2-sink.mjs <port> <user> <keyPath> <bytes>
import { readFileSync } from "node:fs";
import ssh2 from "ssh2";
import { now, procStatus, withPeakRss } from "./stats.mjs";

const [port, user, keyPath, bytesArg] = process.argv.slice(2);
const bytes = Number(bytesArg);
const DONE = "SINK_DONE\n";
const TIMEOUT_MS = 60_000;

const guard = setTimeout(() => {
  console.error("ssh2-sink: timed out");
  process.exit(1);
}, TIMEOUT_MS);

const client = new ssh2.Client();
client.once("error", (error) => {
  console.error(`ssh2-sink: ${error.message}`);
  process.exit(1);
});
client.once("ready", () =>
  client.shell(false, async (error, channel) => {
    if (error) throw error;
    channel.stderr.resume();
    // Counts bytes until the command's output plus the marker line has arrived.
    const run = (n) =>
      new Promise((resolve) => {
        let got = 0;
        const onData = (chunk) => {
          got += chunk.length;
          if (got >= n + DONE.length) {
            channel.off("data", onData);
            resolve(got);
          }
        };
        channel.on("data", onData);
        channel.write(`head -c ${n} /dev/zero | tr '\\0' x; printf '${DONE.trim()}\\n'\n`);
      });
    for (let i = 0; i < 5; i++) await run(256 * 1024); // same warm-up as the server gets
    const baseline = procStatus(process.pid, "VmRSS");
    const t0 = now();
    const { peak } = await withPeakRss(process.pid, () => run(bytes));
    const ms = now() - t0;
    process.stdout.write(JSON.stringify({ ms, growth: peak - baseline, baseline }) + "\n");
    clearTimeout(guard);
    channel.close();
    client.end();
  }),
);
client.connect({ host: "127.0.0.1", port: Number(port), username: user, privateKey: readFileSync(keyPath), readyTimeout: 20_000 });
