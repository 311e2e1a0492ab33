// tsc does not set the executable bit; the bin entry needs it.
import { chmodSync } from "node:fs";
chmodSync(new URL("../build/index.js", import.meta.url), 0o755);
