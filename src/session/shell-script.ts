/**
 * Every line of shell that ssh-mcp sends. The user's command never becomes shell syntax of
 * ours: it travels as one single-quoted word to `eval`, so no quote, heredoc or backslash in it
 * can reach the shell outside the command or forge a token.
 *
 * Written for the smallest common POSIX shell (dash, busybox ash) and checked on bash, zsh,
 * ksh93 and mksh. Nothing the user defines may change what these lines do:
 * - every command name we run is quoted (`\command`), so no alias applies, and goes through
 *   `command` (`builtin` in zsh, whose `command` skips builtins), so no function applies;
 * - the functions below are defined after the login scripts ran, and parsed once;
 * - our own lines run with the shell's stderr, which is the SSH channel's stderr that nobody
 *   reads, so `set -x` traces and shell diagnostics about them never reach a result;
 * - nothing here fails or reads an unset variable, so `set -e` and `set -u` leave them alone.
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
 * The signal that asks the shell to drop the rest of a command: its trap returns from the
 * function running the command (and from any function of the user's that is running inside
 * it), so nothing more of the command's text runs, whether it is waiting for a process or
 * looping in the shell itself.
 */
const ABORT_SIGNAL = "USR2";
const ABORT_IF_RUNNING = "case ${__mcp_in-} in 1) return 130;; esac";

/**
 * The session's functions, for a shell whose builtin runner is `run` (`\command`, or
 * `\builtin` in zsh, whose `command` skips builtins) and whose way to mark a running command
 * is `flag`:
 * - `__mcp_eval` runs the command in `__mcp_cmd` in the current shell, so cd, variables and
 *   jobs persist, with stdin from /dev/null (nothing waits on input or eats the next command)
 *   and stderr merged; `eval` reports a syntax error and the shell carries on. The command
 *   comes in a variable, not as an argument, so it sees no positional parameters of ours.
 *   First, `jobs` frees the numbers of jobs that ended while the session was idle, as a
 *   prompt does before it reads the next line.
 *   `__mcp_in` marks the command as running, for the abort trap; where it is local it is gone
 *   the moment the function returns, so a late signal cannot abort a later command.
 * - `__mcp_end STATUS ID NEXT` prints the end token with the status, then the next command's
 *   header: the background jobs that exist now (the first `jobs` takes pending "Done" notices
 *   off the output) and its jobs token. The header goes out off the critical path, right after
 *   the end token, so the next command starts at once.
 * The command's status is that of `__mcp_eval`, called at top level, so an ERR trap of the
 * user's fires once for a failing command, as at a prompt.
 */
function sessionFunctions(run: string, flag: string): string {
  // Every word is quoted too: zsh's global aliases expand anywhere in a line, not just first.
  return [
    `__mcp_eval() { ${flag}; ${run} \\jobs >/dev/null 2>&1; ${run} \\eval "$__mcp_cmd" </dev/null 2>&1; }`,
    `__mcp_end() { __mcp_in=; ${run} \\printf '__MCP_%s_E%s\\n' "$2" "$1"; ` +
      `${run} \\jobs >/dev/null 2>&1; ${run} \\jobs -p 2>/dev/null; ${run} \\printf '__MCP_%s_J\\n' "$3"; }`,
  ].join("\n");
}

/**
 * Sent once, after the login scripts ran. It starts with an empty line: a login script that
 * reads a line (a `read` asking a question) gets that, as if Enter was pressed, and not ours.
 * No `set -m`: job control without a terminal is an error in zsh (fatal there) and makes
 * bash print job notices into results. The ready line carries the shell's pid, which the
 * interrupt script needs; then comes the header of the first command (no jobs yet).
 *
 * ksh93 has no dynamic `local`, so there the trap checks that a function other than
 * `__mcp_end` is running (`.sh.fun`): `return` outside a function would end the shell.
 */
export function initScript(readyToken: string, firstId: string): string {
  const abort = (check: string) => `\\trap ${shellQuote(check)} ${ABORT_SIGNAL}`;
  return [
    "",
    "\\unset HISTFILE __mcp_in 2>/dev/null",
    "case ${KSH_VERSION-} in",
    "*93*)",
    sessionFunctions("\\command", "__mcp_in=1"),
    abort(`case \${.sh.fun-} in ''|__mcp_end) ;; *) ${ABORT_IF_RUNNING};; esac`),
    ";;",
    "*MIRBSD*)", // mksh: `local` is an alias of typeset there, so quoting it would lose it
    sessionFunctions("\\command", "\\typeset __mcp_in=1"),
    abort(ABORT_IF_RUNNING),
    ";;",
    "*)",
    "case ${ZSH_VERSION-} in",
    "?*)",
    sessionFunctions("\\builtin", "\\local __mcp_in=1"),
    ";;",
    "*)",
    sessionFunctions("\\command", "\\local __mcp_in=1"),
    ";;",
    "esac",
    abort(ABORT_IF_RUNNING),
    ";;",
    "esac",
    `\\command \\printf '%s%s\\n' ${shellQuote(readyToken)} "$$"`,
    `\\command \\printf '%s\\n' ${commandTokens(firstId).jobs}`,
  ].join("\n") + "\n";
}

/** One command: a single short line, since the shell reads it from a pipe a byte at a time. */
export function commandScript(id: string, command: string, nextId: string): string {
  return `__mcp_cmd=${shellQuote(command)}; __mcp_eval; __mcp_end "$?" ${id} ${nextId}\n`;
}

/**
 * Lists "pid ppid sid" for every process: from /proc where there is one (Linux, also without
 * procps or with busybox's `ps`), else from `ps` (BSD and macOS, which have no /proc).
 */
const LIST_PROCESSES = `procs() {
  if [ -r /proc/$S/stat ]; then
    cat /proc/[0-9]*/stat 2>/dev/null | awk '{ p = $1; sub(/^.*\\) /, ""); print p, $2, $4 }'
  else
    ps -A -o pid= -o ppid= 2>/dev/null
  fi
}`;

/**
 * The descendants of the shell S, except the background jobs in KEEP (and theirs); with
 * SAME_SESSION, only those still in the shell's session (a hangup does not reach the others).
 */
const DESCENDANTS = `targets() {
  procs | awk -v s="$S" -v keep="$KEEP" -v same="$SAME_SESSION" '
{ pid[NR] = $1; pp[NR] = $2; sid[NR] = $3; if ($1 == s) ssid = $3 }
END {
  n = split(keep, k, " "); for (i = 1; i <= n; i++) kept[k[i]] = 1
  mark[s] = 1; changed = 1
  while (changed) {
    changed = 0
    for (i = 1; i <= NR; i++) {
      if ((pid[i] in mark) || !(pp[i] in mark)) continue
      if (pp[i] == s && (pid[i] in kept)) continue
      mark[pid[i]] = 1; changed = 1
    }
  }
  for (i = 1; i <= NR; i++)
    if (pid[i] != s && (pid[i] in mark) && (same == "" || sid[i] == ssid)) out = out " " pid[i]
  print out
}'
}`;

/**
 * Signal the targets, then give them up to a second to go; true (status 0) if none are left.
 * A zombie has gone: an orphan's zombie stays until init reaps it, which some containers' init never does.
 * Those signalled before are signalled again: one that ignored INT may have lost its parent
 * meanwhile (\`sh -c 'sleep 9 & sleep 9'\`), and an orphan is no longer anyone's descendant.
 */
const SIGNAL_TARGETS = `zombie() {
  case $(cat /proc/$1/stat 2>/dev/null) in *") Z "*) return 0;; esac; return 1
}
signal() {
  t="$t $(targets)"; case $t in *[0-9]*) ;; *) return 0;; esac
  kill -s "$1" $t 2>/dev/null
  i=0; while [ $i -lt 20 ]; do
    alive=; for p in $t; do kill -0 $p 2>/dev/null && ! zombie $p && alive=1; done
    [ -z "$alive" ] && return 0
    sleep 0.05; i=$((i + 1))
  done
  return 1
}`;

/**
 * Run on a second channel of the same connection, by /bin/sh, so no login script or user
 * definition takes part (the login shell runs the channel's command with `-c`).
 */
function sidecar(script: string): string {
  return `\\exec /bin/sh -c ${shellQuote(script)}`;
}

/** A side-channel script that acts on the shell's descendants (see DESCENDANTS), then runs `body`. */
function onDescendants(shellPid: number, keepJobs: number[], sameSession: boolean, body: string[]): string {
  const settings = `S=${shellPid}; KEEP=${shellQuote(keepJobs.join(" "))}; SAME_SESSION=${sameSession ? 1 : ""}`;
  return sidecar([settings, LIST_PROCESSES, DESCENDANTS, ...body].join("\n"));
}

/**
 * Interrupt the running command, as Ctrl-C in a terminal would, and more surely:
 * 1. ask the shell to drop the rest of the command's text (the abort signal, repeated until
 *    told to stop, so it also reaches the user's functions that were running the command);
 * 2. stop every process the command started, keeping the background jobs that existed before
 *    it and the shell: INT first (no shell reports it), then TERM, then KILL;
 * 3. keep going until ssh-mcp closes this channel's stdin, which it does once the shell
 *    answered: no abort signal can then reach the next command. Meanwhile anything the
 *    command still starts (a caller of an interrupted function of the user's runs on until
 *    the next abort signal reaches it) is stopped as well.
 */
export function interruptScript(shellPid: number, keepJobs: number[]): string {
  return onDescendants(shellPid, keepJobs, false, [
    SIGNAL_TARGETS,
    // The first abort signal goes out before any INT: were the loop's fork slow (a loaded host), a
    // process killed by INT would let the shell run the next part of the command before it.
    `kill -s ${ABORT_SIGNAL} $S 2>/dev/null`,
    `( while kill -s ${ABORT_SIGNAL} $S 2>/dev/null; do sleep 0.01; done ) & asking=$!`,
    "signal INT || signal TERM || signal KILL",
    // Until the shell answers, whatever the command still starts is stopped too: INT, then
    // KILL if it is still there next time round.
    `( prev=; while :; do t=$(targets); for p in $t; do case " $prev " in *" $p "*) kill -s KILL $p;; *) kill -s INT $p;; esac; done 2>/dev/null; prev=$t; sleep 0.05; done ) & reaping=$!`,
    "while read -r _; do :; done",
    "kill $asking $reaping 2>/dev/null",
    "exit 0",
  ]);
}

/**
 * What a terminal hangup does: SIGHUP to the shell and every process in its session, so a
 * closed session leaves nothing running but what was started with nohup or setsid.
 */
export function hangupScript(shellPid: number): string {
  return onDescendants(shellPid, [], true, ["t=$(targets)", "kill -s HUP $t $S 2>/dev/null", "exit 0"]);
}

/** Ends a shell that did not come back after an interrupt. */
export function killShellScript(shellPid: number): string {
  return sidecar(`kill -s TERM ${shellPid} 2>/dev/null; sleep 0.5; kill -s KILL ${shellPid} 2>/dev/null; exit 0`);
}

/** What a sudo command prints to tell its outcome apart from its output; random per command (see sudo.ts). */
export interface SudoTokens {
  /** sudo's password prompt (`-p`): sudo prints it each time it reads a password. */
  prompt: string;
  /** Printed by the target user's shell first: sudo let the command run. */
  started: string;
  /** Printed instead of running sudo when the host has none. */
  missing: string;
}

/**
 * What sudo runs, with /bin/sh so that these lines mean the same everywhere: announce itself, drop
 * stdin for /dev/null, and run the command with the account's login shell ($1, the session's
 * $SHELL) as a child it can stop. sudo passes the SIGINT and SIGTERM of an interrupt on to this
 * shell only (ssh-mcp's account may not signal the target user's processes), so its trap stops
 * the command's whole tree: TERM first (a background child ignores SIGINT), then KILL.
 */
function sudoChild(startedToken: string): string {
  return [
    `\\command printf '%s\\n' ${startedToken}`,
    "exec </dev/null",
    "S=$$; KEEP=; SAME_SESSION=",
    LIST_PROCESSES,
    DESCENDANTS,
    SIGNAL_TARGETS,
    "trap 'signal TERM || signal KILL; exit 130' INT TERM HUP",
    '"$1" -c "$2" &',
    "wait $!",
  ].join("\n");
}

/**
 * The command text that runs `command` through sudo as `user`, from the session's shell (so in its
 * working directory) but in a child shell of the account's login shell type, so nothing it
 * changes persists. With `fifo`, sudo reads the password from that pipe (`-S`), which this
 * command opens first and then unlinks with its private directory; without, sudo never asks
 * (`-n`). The command gets /dev/null as stdin, never the pipe. sudo's prompt is our random token,
 * so a second prompt (a wrong password) shows in the output instead of a wait.
 */
export function sudoScript(command: string, user: string, tokens: SudoTokens, fifo?: string): string {
  const child = sudoChild(tokens.started);
  const auth = fifo === undefined ? "-n" : `-S -p ${shellQuote(tokens.prompt)}`;
  const sudo =
    `if \\command -v sudo >/dev/null 2>&1; then ` +
    `\\command sudo ${auth} -u ${shellQuote(user)} -- /bin/sh -c ${shellQuote(child)} sh "\${SHELL:-/bin/sh}" ${shellQuote(command)}; ` +
    `else \\command printf '%s\\n' ${tokens.missing}; (exit 127); fi`;
  if (fifo === undefined) return sudo;
  const dir = fifo.slice(0, fifo.lastIndexOf("/"));
  return `{ \\command rm -rf ${shellQuote(dir)}; ${sudo}; } <${shellQuote(fifo)}`;
}

/**
 * Run on a second channel: make a private directory (mktemp -d, umask 077) holding a FIFO, print
 * "PID DIR", then copy this channel's stdin (the sudo password and a newline, then end of file)
 * into the FIFO once sudo's command opens it. The password is in no argument and no file: it
 * passes through the channel and a kernel pipe only.
 */
export function sudoPipeScript(): string {
  return sidecar(
    [
      "umask 077",
      'd=$(mktemp -d 2>/dev/null) || exit 1',
      'mkfifo "$d/p" || { rmdir "$d"; exit 1; }',
      `printf '%s %s\\n' "$$" "$d"`,
      'exec cat >"$d/p"',
    ].join("\n"),
  );
}

/** Stop a pipe script whose FIFO was never opened (it waits in open()) and remove its directory. */
export function sudoPipeCleanupScript(pid: number, dir: string): string {
  return sidecar(`kill -s TERM ${pid} 2>/dev/null; rm -rf ${shellQuote(dir)}; exit 0`);
}

/**
 * Prints the shell's current directory as lsof's `n/path` line, for hosts without /proc (macOS,
 * the BSDs), where the file tools cannot read /proc/<pid>/cwd over SFTP.
 */
export function cwdScript(shellPid: number): string {
  return sidecar(`lsof -a -p ${shellPid} -d cwd -Fn 2>/dev/null; exit 0`);
}
