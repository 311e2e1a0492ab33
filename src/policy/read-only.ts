/**
 * The allow-list of `read-only`: a command runs only if every part of it is a program that
 * only reads, with no redirection, substitution or background job. Conservative on purpose:
 * what it cannot judge, it refuses. Like every policy here, a seat belt, not a sandbox.
 */

/** Programs that only read (with the subcommands that do, where the program also writes). */
const READERS: Record<string, true | readonly string[]> = {
  cat: true, head: true, tail: true, less: true, more: true, grep: true, egrep: true, fgrep: true, zgrep: true, zcat: true,
  wc: true, sort: true, uniq: true, cut: true, tr: true, column: true, nl: true, od: true, hexdump: true, strings: true,
  ls: true, stat: true, file: true, du: true, df: true, free: true, pwd: true, whoami: true, id: true, groups: true,
  hostname: true, uname: true, date: true, uptime: true, w: true, who: true, last: true, ps: true, pgrep: true,
  lsblk: true, lscpu: true, lsof: true, ss: true, netstat: true, ip: true,
  which: true, type: true, echo: true, printf: true, true: true, false: true, test: true, basename: true, dirname: true,
  realpath: true, readlink: true, md5sum: true, sha1sum: true, sha256sum: true, diff: true, cmp: true, find: true,
  journalctl: true, dmesg: true, getent: true, env: [], printenv: true, locale: true, nproc: true, vmstat: true, iostat: true,
  systemctl: ["status", "is-active", "is-enabled", "is-failed", "list-units", "list-unit-files", "list-timers", "show", "cat"],
  git: ["status", "log", "diff", "show", "rev-parse", "describe", "blame", "ls-files"],
  docker: ["ps", "logs", "inspect", "images", "version", "info", "stats"],
  kubectl: ["get", "describe", "logs", "version", "top", "explain"],
  apt: ["list", "show", "policy", "search"], "apt-cache": true, dpkg: ["-l", "-L", "-s", "--list", "--listfiles", "--status"],
  rpm: ["-q", "-qa", "-qi", "-ql"], crontab: ["-l"],
};

/** Arguments that make a reader write (or run something): any one refuses the command. */
const WRITING_ARGS: Record<string, RegExp> = {
  find: /^-(delete|exec|execdir|ok|okdir|fprint|fprint0|fprintf|fls)$/,
  sort: /^(-o|--output)/,
  ip: /^(set|add|del|delete|flush|change|replace|append|prepend|save|restore)$/,
  journalctl: /^--(vacuum|rotate|flush|relinquish|sync|setup-keys|update-catalog)/,
  dmesg: /^(-[a-zA-Z]*[cCDEn]|--clear|--read-clear|--console)/,
  date: /^(-s|--set)/,
  // Any word that is not an option names a new host name; -F and -b set one too.
  hostname: /^([^-]|-F|--file|-b|--boot)/,
  diff: /^(-o|--output)/,
};

/** Why a command is not read-only, or undefined if every part of it is. */
export function notReadOnly(command: string): string | undefined {
  const parts = splitCommand(command);
  if (typeof parts === "string") return parts;
  for (const words of parts) {
    if (words.length === 0) continue;
    const [program, ...args] = words;
    const allowed = READERS[program!];
    if (allowed === undefined) return `'${program}' is not on the read-only list`;
    if (allowed !== true && !args.some((a) => allowed.includes(a))) {
      return allowed.length ? `'${program}' is read-only only as ${program} ${allowed.join("|")}` : `'${program}' can run other programs`;
    }
    const writes = WRITING_ARGS[program!];
    const writing = writes && args.find((a) => writes.test(a));
    if (writing !== undefined) return `'${program} ${writing}' writes or runs something`;
  }
  return undefined;
}

/**
 * The simple commands of a line, as word lists, split at | ; && || and newlines outside
 * quotes; or why the line cannot be judged (redirection, substitution, background jobs,
 * variable assignments or expansions that could name another program).
 */
function splitCommand(command: string): string[][] | string {
  const parts: string[][] = [[]];
  let word = "";
  let inWord = false;
  const endWord = () => {
    if (inWord) parts.at(-1)!.push(word);
    word = "";
    inWord = false;
  };
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) return "an unclosed quote";
      word += command.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < command.length && command[j] !== '"'; j++) {
        if (command[j] === "\\") j++;
        else if (command[j] === "$" || command[j] === "`") return "an expansion inside double quotes";
      }
      if (j >= command.length) return "an unclosed quote";
      word += command.slice(i + 1, j).replace(/\\(.)/g, "$1");
      inWord = true;
      i = j;
    } else if (c === "\\") {
      word += command[i + 1] ?? "";
      inWord = true;
      i++;
    } else if (c === " " || c === "\t") {
      endWord();
    } else if (c === "|" || c === ";" || c === "\n") {
      endWord();
      if (command[i + 1] === c && c === "|") i++;
      parts.push([]);
    } else if (c === "&") {
      if (command[i + 1] !== "&") return "a background job (&)";
      endWord();
      i++;
      parts.push([]);
    } else if (c === ">" || c === "<") {
      return "a redirection (> or <)";
    } else if (c === "$" || c === "`") {
      return "an expansion or command substitution ($ or `)";
    } else if (c === "(" || c === ")" || c === "{" || c === "}") {
      return "a subshell or group";
    } else if (c === "=" && parts.at(-1)!.length === 0 && inWord && /^[A-Za-z_][A-Za-z0-9_]*$/.test(word)) {
      return "a variable assignment";
    } else {
      word += c;
      inWord = true;
    }
  }
  endWord();
  return parts;
}
