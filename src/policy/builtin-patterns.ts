/**
 * Commands that are obviously destructive, for `{ "deny": "builtin:destructive" }` (or `ask`).
 * A seat belt, not a sandbox: a shell can always hide intent (variables, eval, base64, a script
 * file), so these catch mistakes, not an adversary.
 */
export const DESTRUCTIVE_PATTERNS: readonly RegExp[] = [
  // rm -rf (any flag order) of /, ~, *, or a top-level directory
  /\brm\s+(-[a-zA-Z]*\s+)*-[a-zA-Z]*[rR][a-zA-Z]*\s+(-[a-zA-Z-]+\s+)*(--no-preserve-root\s+)?("|')?(\/|~|\*|\/\*|\/[a-z]+\/?)("|')?(\s|;|&|\||$)/,
  /--no-preserve-root/,
  /\bmkfs(\.[a-z0-9]+)?\b/,
  /\bdd\b[^|;&]*\bof=\/dev\//,
  /\b(wipefs|shred|blkdiscard)\b/,
  /\b(fdisk|sfdisk|parted|sgdisk)\b/,
  /\b(shutdown|reboot|halt|poweroff)\b/,
  /\b(init|telinit)\s+[06]\b/,
  /\bsystemctl\s+(poweroff|reboot|halt|kexec|rescue|emergency)\b/,
  /:\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:/, // the classic fork bomb
  />\s*\/dev\/(sd[a-z]|nvme\d|vd[a-z]|xvd[a-z]|hd[a-z]|mmcblk\d)/,
  /\bchmod\s+(-[a-zA-Z]+\s+)*[0-7]*777\s+\/(\s|$)/,
  /\bchown\s+(-[a-zA-Z]+\s+)*\S+\s+\/(\s|$)/,
  /\bmv\s+\/\s/,
  /\bcrontab\s+-r\b/,
  /\biptables\s+(-F|--flush)\b/,
  /\bDROP\s+(DATABASE|TABLE|SCHEMA)\b/i,
  /\bTRUNCATE\s+TABLE\b/i,
];

/** The first built-in destructive pattern the command matches, as text, or undefined. */
export function destructiveMatch(command: string): string | undefined {
  return DESTRUCTIVE_PATTERNS.find((p) => p.test(command))?.source;
}
