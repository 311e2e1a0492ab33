import { homedir } from "node:os";
import { join } from "node:path";

/** Expand a leading "~" or "~/" like OpenSSH does (only the current user's home). */
export function expandHome(p: string, homeDir: string = homedir()): string {
  if (p === "~") return homeDir;
  // "~user/..." is left alone: resolving other users' homes is not worth a passwd lookup here.
  if (p.startsWith("~/")) return join(homeDir, p.slice(2));
  return p;
}
