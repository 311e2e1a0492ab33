import { createRequire } from "node:module";

/** This package's version, from package.json (one level above build/ and src/). */
export function packageVersion(): string {
  return (createRequire(import.meta.url)("../package.json") as { version: string }).version;
}
