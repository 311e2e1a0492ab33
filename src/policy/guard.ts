import { SshMcpError } from "../errors.js";
import { judge, similarityKey, type Verdict } from "./policy.js";
import type { PolicyFile } from "./policy-file.js";

/** What a person is asked to approve. */
export interface ApprovalRequest {
  hostId: string;
  /** user@host:port */
  target: string;
  command: string;
  sudo: boolean;
  /** Why approval is needed (the policy, or the rule that matched). */
  reason: string;
}

/** The person's answer: this once, this and similar ones for the session, or no. */
export type Approval = "once" | "similar" | "decline";

/** Asks a person; undefined when this client cannot ask anyone. */
export type Approver = (request: ApprovalRequest) => Promise<Approval | undefined>;

/** How a command came to be allowed, for the audit log. */
export interface Clearance {
  decision: "allowed" | "approved";
  reason: string;
}

/** The policy refused the command, or the person did; nothing was sent to the host. */
export class CommandRefusedError extends SshMcpError {
  constructor(
    message: string,
    readonly decision: "denied" | "declined",
    readonly reason: string,
  ) {
    super(message);
  }
}

/** The command, its host, and what the session has already approved as similar. */
export interface GuardedCommand {
  hostId: string;
  target: string;
  command: string;
  sudo?: boolean;
  /** Similarity keys the person approved for this session (see similarityKey); added to on "similar". */
  approvedSimilar: Set<string>;
}

/**
 * Applies the person's policy (policy.json) to each command before anything is sent, asking
 * the person when the policy says `ask`. Throws CommandRefusedError on a refusal.
 */
export class Guard {
  constructor(private readonly policies: PolicyFile) {}

  async clear(cmd: GuardedCommand, approve?: Approver): Promise<Clearance> {
    const policy = await this.policies.policyFor(cmd.hostId);
    // The common case, checked first: nothing to compute for an open host.
    if (policy.mode === "open" && !cmd.sudo) return OPEN;
    const verdict = judge(policy, cmd);
    if (verdict.decision === "allow") return { decision: "allowed", reason: verdict.reason };
    if (verdict.decision === "deny") {
      throw new CommandRefusedError(
        `Refused by the policy for host '${cmd.hostId}' (${verdict.reason}). Nothing was sent to the host. ` +
          `The policy is the person's, in ${this.policies.path}; a tool call cannot change it.`,
        "denied",
        verdict.reason,
      );
    }
    return this.ask(cmd, verdict, approve);
  }

  private async ask(cmd: GuardedCommand, verdict: Verdict, approve?: Approver): Promise<Clearance> {
    const key = similarityKey(cmd.command);
    if (key !== undefined && cmd.approvedSimilar.has(key)) {
      return { decision: "approved", reason: `${verdict.reason}; similar to one approved for this session ("${key} ...")` };
    }
    const answer = await approve?.({ hostId: cmd.hostId, target: cmd.target, command: cmd.command, sudo: cmd.sudo ?? false, reason: verdict.reason });
    if (answer === undefined) {
      throw new CommandRefusedError(
        `The policy for host '${cmd.hostId}' needs a person to approve this command (${verdict.reason}), and this MCP client cannot ask ` +
          `(it does not support form elicitation). Nothing was sent to the host. Use a client that can ask, or change the host's policy in ${this.policies.path}.`,
        "denied",
        `${verdict.reason}; nobody could be asked`,
      );
    }
    if (answer === "decline") {
      throw new CommandRefusedError(
        `The person declined to run this command on host '${cmd.hostId}' (${cmd.target}). Nothing was sent to the host.`,
        "declined",
        verdict.reason,
      );
    }
    if (answer === "similar" && key !== undefined) cmd.approvedSimilar.add(key);
    return { decision: "approved", reason: verdict.reason };
  }
}

const OPEN: Clearance = { decision: "allowed", reason: "policy open" };
