import { randomUUID } from "node:crypto";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { ElicitResultSchema, type ElicitRequestFormParams, type ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { SecretPage } from "../elicitation/secret-page.js";
import { SshMcpError } from "../errors.js";
import { MAX_LENGTH } from "../hosts/host-fields.js";
import type { HostPatch } from "../hosts/host-config.js";
import type { Approver } from "../policy/guard.js";
import type { SecretAsker, SecretRequest } from "../ssh/ask-secret.js";
import { ASK_TIMEOUT_MS, type NewKeyConfirmer } from "../ssh/host-key-trust.js";
import { knownHostName } from "../ssh/known-host-name.js";

/** How long the secret page waits for the person. */
const PAGE_TTL_MS = 5 * 60 * 1000;

/** Nobody gave the secret: declined, cancelled, or the page expired. */
export class SecretNotGivenError extends SshMcpError {
  constructor(request: SecretRequest, why: "decline" | "cancel" | "expired") {
    const what = {
      password: `the password for ${request.target}`,
      passphrase: `the passphrase of key ${request.keyPath}`,
      "sudo-password": `the sudo password for ${request.target}`,
    }[request.secret];
    const happened = {
      decline: `You declined to give ${what}`,
      cancel: `The request for ${what} was cancelled`,
      expired: `Nobody sent ${what} within ${PAGE_TTL_MS / 60_000} minutes`,
    }[why];
    const so = request.secret === "sudo-password" ? "nothing was run" : `host '${request.hostId}' could not log in`;
    super(`${happened}, so ${so}. ${howToStore(request)}`);
  }
}

/** Where a secret can be kept instead of being typed each time. */
function howToStore(request: SecretRequest): string {
  switch (request.secret) {
    case "password":
      return `To log in without being asked, store the password with edit-host (password), or use key authentication (keyPath) or ssh-agent.`;
    case "passphrase":
      return `To use the key without being asked, load it into ssh-agent, or set SSH_MCP_KEY_PASSPHRASE in the server's environment.`;
    case "sudo-password":
      return `To run sudo without being asked, store the sudo password yourself: ssh-mcp hosts edit ${request.hostId} --ask-sudo-password.`;
  }
}

/** What a secret page asks for, in words, and the host field that can keep it. */
const WHAT: Record<SecretRequest["secret"], { title: string; label: string; field?: keyof HostPatch; why: (r: SecretRequest) => string }> = {
  password: {
    title: "Password",
    label: "Password",
    field: "password",
    why: (r) => `ssh-mcp needs the password of ${r.target} (host '${r.hostId}') to start a session.`,
  },
  passphrase: {
    title: "Key passphrase",
    label: "Passphrase",
    why: (r) => `ssh-mcp needs the passphrase of the private key ${r.keyPath} to log in to ${r.target} (host '${r.hostId}').`,
  },
  "sudo-password": {
    title: "sudo password",
    label: "sudo password",
    field: "sudoPassword",
    why: (r) => `sudo on ${r.target} (host '${r.hostId}') asks for the password of that account, to run a command the agent asked to run as another user.`,
  },
};

/** Where a typed secret can be kept: the hosts' editor (a HostDirectory). */
export interface SecretKeeper {
  edit(hostId: string, patch: HostPatch): Promise<unknown>;
}

/**
 * Asks the person at the client for a secret through a one-time page on this machine (URL-mode
 * elicitation), so it never passes through the model or the client. Undefined when the client
 * cannot open URLs for us; then the connection fails as before, with a hint on storing it.
 */
export function secretAsker(server: Server, keeper: SecretKeeper, log: (m: string) => void): SecretAsker | undefined {
  if (!server.getClientCapabilities()?.elicitation?.url) return undefined;
  return async (request) => {
    const what = WHAT[request.secret];
    const field = request.canRemember ? what.field : undefined;
    const page = await SecretPage.open({
      title: request.secret === "passphrase" ? what.title : `${what.title} for ${request.target}`,
      prompt: what.why(request),
      label: what.label,
      remember: field
        ? `Remember it for host '${request.hostId}' (kept in ~/.ssh-mcp/hosts.json, readable only by you, as add-host would keep it)`
        : undefined,
      maxLength: MAX_LENGTH.password,
      ttlMs: PAGE_TTL_MS,
    });
    const elicitationId = randomUUID();
    try {
      const answer = await server.elicitInput(
        {
          mode: "url",
          elicitationId,
          url: page.url,
          message:
            `ssh-mcp needs the ${what.title.toLowerCase()} for ${request.target} (host '${request.hostId}'). ` +
            `Open this page on this computer and type it there: it goes to ssh-mcp directly, never to the model.`,
        },
        { timeout: PAGE_TTL_MS },
      );
      if (answer.action !== "accept") throw new SecretNotGivenError(request, answer.action);
      const { secret, remember } = await page.submitted.catch(() => {
        throw new SecretNotGivenError(request, "expired");
      });
      await server.createElicitationCompletionNotifier(elicitationId)().catch(() => undefined);
      return {
        secret,
        worked: async () => {
          if (!remember || !field) return;
          await keeper.edit(request.hostId, { [field]: secret }).then(
            () => log(`stored the ${what.title.toLowerCase()} typed for host ${request.hostId}`),
            (error: unknown) => log(`could not store the ${what.title.toLowerCase()} for host ${request.hostId}: ${error instanceof Error ? error.message : String(error)}`),
          );
        },
      };
    } finally {
      page.close();
    }
  };
}

/**
 * Asks the person whether to trust a new host key (SSH_MCP_STRICT_HOST_KEYS=ask), as a form
 * with accept and decline. Undefined (so: refused) when the client has no form elicitation.
 */
export function hostKeyConfirmer(server: Server): NewKeyConfirmer {
  return async (key) => {
    const result = await askForm(
      server,
      `Trust host ${knownHostName(key.host, key.port)}? It is not in any known_hosts file and offers this ${key.keyType} key: ${key.fingerprint}. ` +
        `Accept to trust it and record it in ~/.ssh-mcp/known_hosts (as OpenSSH's "yes" at its prompt); decline to refuse the connection.`,
      { type: "object", properties: {} },
      ASK_TIMEOUT_MS,
    );
    return result && result.action === "accept";
  };
}

/** How long the person has to approve a command. */
const APPROVAL_TIMEOUT_MS = 5 * 60 * 1000;

/**
 * Show the person a form (elicitation/create in form mode); undefined when the client cannot.
 * An empty elicitation capability means form mode, for older clients; the SDK's elicitInput
 * refuses those, so the request is sent as is.
 */
async function askForm(
  server: Server,
  message: string,
  requestedSchema: ElicitRequestFormParams["requestedSchema"],
  timeoutMs: number,
): Promise<ElicitResult | undefined> {
  const modes = server.getClientCapabilities()?.elicitation;
  if (!modes || (!modes.form && modes.url)) return undefined;
  return server.request({ method: "elicitation/create", params: { mode: "form", message, requestedSchema } }, ElicitResultSchema, { timeout: timeoutMs });
}

/**
 * Asks the person whether to run a command the host's policy holds for approval: approve,
 * approve similar ones for this session, or decline. Undefined (so: refused) without form elicitation.
 */
export function commandApprover(server: Server): Approver {
  return async (request) => {
    const result = await askForm(
      server,
      `Run on host '${request.hostId}' (${request.target})${request.sudo ? " with sudo" : ""}:\n\n${request.command}\n\n` +
        `Asked because: ${request.reason}.`,
      {
        type: "object",
        properties: {
          decision: {
            type: "string",
            title: "Decision",
            oneOf: [
              { const: "approve", title: "Approve" },
              { const: "approve-similar", title: "Approve, and commands starting with the same two words, for this session" },
              { const: "decline", title: "Decline" },
            ],
            default: "approve",
          },
        },
        required: ["decision"],
      },
      APPROVAL_TIMEOUT_MS,
    );
    if (!result) return undefined;
    if (result.action !== "accept") return "decline";
    const decision = result.content?.decision;
    return decision === "approve" ? "once" : decision === "approve-similar" ? "similar" : "decline";
  };
}
