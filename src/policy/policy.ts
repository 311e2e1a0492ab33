import { destructiveMatch } from "./builtin-patterns.js";
import { notReadOnly } from "./read-only.js";

/** What a rule (or a policy) says about a command. */
export type Decision = "allow" | "ask" | "deny";

/** The pattern that names the built-in list of destructive commands. */
export const BUILTIN_DESTRUCTIVE = "builtin:destructive";

/** One rule: a regular expression searched in the command text (or the built-in list), and what to do on a match. */
export interface Rule {
  action: Decision;
  pattern: RegExp | typeof BUILTIN_DESTRUCTIVE;
  /** As written in the file, for messages. */
  source: string;
}

/** How commands on one host are judged. */
export type HostPolicy =
  | { mode: "open" }
  | { mode: "ask" }
  | { mode: "read-only" }
  | { mode: "rules"; rules: Rule[]; default: Decision };

/** A decision and the reason for it, in words for messages and the audit log. */
export interface Verdict {
  decision: Decision;
  reason: string;
}

/** The command about to run, as the policy sees it. */
export interface CommandToJudge {
  command: string;
  /** Run through sudo: under `ask` and `rules` it asks unless a rule says otherwise. */
  sudo?: boolean;
}

const STRICTNESS: Record<Decision, number> = { allow: 0, ask: 1, deny: 2 };

/** Judge a command under a policy. Pure: no I/O, no person asked. */
export function judge(policy: HostPolicy, { command, sudo = false }: CommandToJudge): Verdict {
  switch (policy.mode) {
    case "open":
      return { decision: "allow", reason: "policy open" };
    case "ask":
      return { decision: "ask", reason: "policy ask: every command needs approval" };
    case "read-only": {
      if (sudo) return { decision: "deny", reason: "policy read-only: sudo is not allowed" };
      const why = notReadOnly(command);
      return why ? { decision: "deny", reason: `policy read-only: ${why}` } : { decision: "allow", reason: "policy read-only: every part only reads" };
    }
    case "rules": {
      for (const [i, rule] of policy.rules.entries()) {
        const hit = rule.pattern === BUILTIN_DESTRUCTIVE ? destructiveMatch(command) !== undefined : rule.pattern.test(command);
        if (hit) return { decision: rule.action, reason: `rule ${i + 1} (${rule.action} ${rule.source}) matched` };
      }
      if (sudo && STRICTNESS[policy.default] < STRICTNESS.ask) return { decision: "ask", reason: "sudo with no rule matching: approval needed" };
      return { decision: policy.default, reason: `no rule matched; the default is ${policy.default}` };
    }
  }
}

/**
 * Commands that "approve similar for this session" lets through: the same first two words
 * (`systemctl restart nginx` and `systemctl restart php-fpm`). Never one on the built-in
 * destructive list: those are asked about every time.
 */
export function similarityKey(command: string): string | undefined {
  if (destructiveMatch(command) !== undefined) return undefined;
  const words = command.trim().split(/\s+/).slice(0, 2);
  return words.join(" ") || undefined;
}

/** A policy as list-hosts shows it: "open", "ask", "read-only" or "rules (3, default ask)". */
export function describePolicy(policy: HostPolicy): string {
  return policy.mode === "rules" ? `rules (${policy.rules.length}, default ${policy.default})` : policy.mode;
}
