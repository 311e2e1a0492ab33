// Child process for the two-process host-store test. Usage: node host-store-writer.mjs <dir> <prefix> <count>
// Prints "ready", waits for a line on stdin (so both writers start together), then adds <count> hosts concurrently.
// Imports the compiled store: `npm test` builds first, and the test rebuilds when build/ is older than src/.
import { HostStore } from "../../build/hosts/host-store.js";

const [dir, prefix, count] = process.argv.slice(2);
const store = new HostStore({ dir, warn: () => {} });

process.stdin.once("data", async () => {
  const adds = Array.from({ length: Number(count) }, (_, i) =>
    store.add({ host_id: `${prefix}-${i}`, host: "10.0.0.1", username: "deploy" }),
  );
  await Promise.all(adds);
  process.exit(0);
});
process.stdout.write("ready\n");
