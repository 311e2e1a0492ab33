// What runs on the (local) test host, as the remote side of a test sees it.
import { execFileSync } from "node:child_process";

/** True while a process whose command line contains `marker` runs on the test host. */
export function running(marker: string): boolean {
  const ps = execFileSync("ps", ["-eo", "args="], { encoding: "utf8" });
  return ps.split("\n").some((line) => line.includes(marker) && !line.includes("ps -eo"));
}
