/**
 * The few lines of POSIX shell that ssh-mcp sends. The user's command never becomes shell
 * syntax of ours: it travels as one single-quoted word to `eval`, so no quote, heredoc or
 * backslash in it can reach the shell outside the command or forge a token.
 */

/** Tokens unique to one command; the id is random, so output cannot predict them. */
export function commandTokens(id: string) {
  return { jobs: `__MCP_${id}_J`, end: `__MCP_${id}_E` };
}

/** Quote any string as one literal POSIX shell word. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Sent once when the shell opens. Job control (`set -m`, where the shell allows it without a
 * terminal) gives each command its own process group, so a timeout can stop a whole pipeline.
 * The ready line carries the shell's pid, which the interrupt script needs; then comes the
 * header of the first command (no jobs yet).
 */
export function initScript(readyToken: string, firstId: string): string {
  return [
    "unset HISTFILE 2>/dev/null",
    "set -m 2>/dev/null",
    `printf '%s%s\\n' ${shellQuote(readyToken)} "$$"`,
    `echo ${commandTokens(firstId).jobs}`,
  ].join("; ") + "\n";
}

/**
 * One command: run it in the current shell so cd, variables and jobs persist, with stdin from
 * /dev/null (nothing can wait on input or eat the next command) and stderr merged, and print
 * the end token with the exit status; `command eval` keeps a syntax error in the command from
 * ending a POSIX shell. Then, off the critical path, the next command's header: the background
 * jobs that exist now (so interrupting the next command leaves them alone; a plain `jobs` first
 * takes pending "Done" notices off the output) and its jobs token. Kept short: the shell reads
 * it from a pipe a byte at a time.
 */
export function commandScript(id: string, command: string, nextId: string): string {
  return (
    `command eval ${shellQuote(command)} </dev/null 2>&1; echo ${commandTokens(id).end}$?; ` +
    `jobs >/dev/null; jobs -p; echo ${commandTokens(nextId).jobs}\n`
  );
}

/**
 * Run on a separate channel to interrupt a command: stop every descendant of the shell and
 * their process groups, except the background jobs that existed before the command began and
 * the shell itself. TERM first, KILL for whatever is still there a second later.
 */
export function interruptScript(shellPid: number, keepJobs: number[]): string {
  const awk = `
{ pid[NR]=$1; pp[NR]=$2; pg[NR]=$3 }
END {
  n=split(keep, k, " "); for (i=1;i<=n;i++) kept[k[i]]=1
  mark[s]=1; spg=""
  for (i=1;i<=NR;i++) if (pid[i]==s) spg=pg[i]
  changed=1
  while (changed) {
    changed=0
    for (i=1;i<=NR;i++) {
      if ((pid[i] in mark) || !(pp[i] in mark)) continue
      if (pp[i]==s && ((pid[i] in kept) || (pg[i] in kept))) continue
      mark[pid[i]]=1; changed=1
    }
  }
  for (i=1;i<=NR;i++) if (pid[i]!=s && (pid[i] in mark)) {
    out=out " " pid[i]
    if (pg[i]!=spg && !(pg[i] in kept) && !(("-" pg[i]) in seen)) { seen["-" pg[i]]=1; out=out " -" pg[i] }
  }
  print out
}`;
  return [
    `t=$(ps -e -o pid= -o ppid= -o pgid= | awk -v s=${shellPid} -v keep=${shellQuote(keepJobs.join(" "))} ${shellQuote(awk)})`,
    `[ -n "$t" ] || exit 0`,
    `kill -s TERM -- $t 2>/dev/null`,
    `i=0; while [ $i -lt 10 ]; do alive=; for p in $t; do case $p in -*) ;; *) st=$(ps -o stat= -p $p 2>/dev/null); case "$st" in ""|Z*) ;; *) alive=1;; esac;; esac; done; [ -z "$alive" ] && exit 0; sleep 0.1; i=$((i+1)); done`,
    `kill -s KILL -- $t 2>/dev/null`,
    `exit 0`,
  ].join("\n");
}

/** Ends a shell that could not be interrupted (a loop running inside the shell itself). */
export function killShellScript(shellPid: number): string {
  return `kill -s TERM ${shellPid} 2>/dev/null; sleep 0.5; kill -s KILL ${shellPid} 2>/dev/null; exit 0`;
}
