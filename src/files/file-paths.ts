import { posix, resolve } from "node:path";
import { expandHome } from "../hosts/expand-home.js";
import { InvalidPathError } from "./file-errors.js";

/** How a remote path argument is anchored: `/x`, `~` or `~/x`, or relative to the shell's current directory. */
export type RemotePath = { base: "absolute"; path: string } | { base: "home" | "cwd"; rest: string };

/** Classify a remote path argument; refuses what no remote system could take. */
export function parseRemotePath(path: string, argument: string): RemotePath {
  checkPath(path, argument);
  if (path.startsWith("/")) return { base: "absolute", path: posix.normalize(path) };
  if (path === "~") return { base: "home", rest: "." };
  if (path.startsWith("~/")) return { base: "home", rest: path.slice(2) || "." };
  if (path.startsWith("~")) {
    throw new InvalidPathError(`${argument} '${path}': ~user is not expanded; give the full path (or ~/... for the session user's home).`);
  }
  return { base: "cwd", rest: path };
}

/** `rest` under the directory `dir`, normalised as the shell would for a path without symlinks. */
export function underDir(dir: string, rest: string): string {
  return posix.normalize(posix.join(dir, rest));
}

/** A local path: `~` is the server user's home, relative paths start at the server's working directory. */
export function resolveLocalPath(path: string, argument: string, homeDir: string, cwd: string = process.cwd()): string {
  checkPath(path, argument);
  if (path.startsWith("~") && path !== "~" && !path.startsWith("~/")) {
    throw new InvalidPathError(`${argument} '${path}': ~user is not expanded; give the full path (or ~/... for your home).`);
  }
  return resolve(cwd, expandHome(path, homeDir));
}

function checkPath(path: string, argument: string): void {
  if (path === "") throw new InvalidPathError(`${argument} is empty: give a file path.`);
  if (path.includes("\0")) throw new InvalidPathError(`${argument} contains a NUL byte, which no file name can hold.`);
}
