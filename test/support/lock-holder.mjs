// Child process for the lock tests. Usage: node lock-holder.mjs <file>
// Takes the cross-process lock on <file>, prints "locked", and holds it until a line arrives on stdin or it is killed.
// Imports the compiled lock: `npm test` builds first, and host-store.test.ts rebuilds when build/ is older than src/.
import { withFileLock } from "../../build/hosts/file-lock.js";

const [file] = process.argv.slice(2);
await withFileLock(file, { timeoutMs: 10_000, staleMs: 30_000 }, async () => {
  process.stdout.write("locked\n");
  await new Promise((resolve) => process.stdin.once("data", resolve));
});
process.exit(0);
