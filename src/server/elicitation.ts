import { randomUUID } from "node:crypto";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { ElicitResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { SecretPage } from "../elicitation/secret-page.js";
import { SshMcpError } from "../errors.js";
import { MAX_LENGTH } from "../hosts/host-fields.js";
import type { HostStore } from "../hosts/host-store.js";
import type { Approver } from "../policy/guard.js";
import type { SecretAsker, SecretRequest } from "../ssh/ask-secret.js";
import { ASK_TIMEOUT_MS, type NewKeyConfirmer } from "../ssh/host-key-trust.js";
import { knownHostName } from "../ssh/known-host-name.js";

/** How long the secret page waits for the person. */
const PAGE_TTL_MS = 5 * 60 * 1000;

/** Nobody gave the secret: declined, cancelled, or the page expired. */
export class SecretNotGivenError extends SshMcpError {
  constructor(request: SecretRequest, why: "decline" | "cancel" | "expired") {
    const what = request.secret === "password" ? `the password for ${request.target}` : `the passphrase of key ${request.keyPath}`;
    const happened = {
      decline: `You declined to give ${what}`,
      cancel: `The request for ${what} was cancelled`,
      expired: `Nobody sent ${what} within ${PAGE_TTL_MS / 60_000} minutes`,
    }[why];
    super(`${happened}, so host '${request.hostId}' could not log in. ${howToStore(request)}`);
  }
}

/** Where a secret can be kept instead of being typed each time. */
function howToStore(request: SecretRequest): string {
  return request.secret === "password"
    ? `To log in without being asked, store the password with edit-host (password), or use key authentication (keyPath) or ssh-agent.`
    : `To use the key without being asked, load it into ssh-agent, or set SSH_MCP_KEY_PASSPHRASE in the server's environment.`;
}

/**
 * Asks the person at the client for a secret through a one-time page on this machine (URL-mode
 * elicitation), so it never passes through the model or the client. Undefined when the client
 * cannot open URLs for us; then the connection fails as before, with a hint on storing it.
 */
export function secretAsker(server: Server, store: HostStore, log: (m: string) => void): SecretAsker | undefined {
  if (!server.getClientCapabilities()?.elicitation?.url) return undefined;
  return async (request) => {
    const isPassword = request.secret === "password";
    const page = await SecretPage.open({
      title: isPassword ? `Password for ${request.target}` : "Key passphrase",
      prompt: isPassword
        ? `ssh-mcp needs the password of ${request.target} (host '${request.hostId}') to start a session.`
        : `ssh-mcp needs the passphrase of the private key ${request.keyPath} to log in to ${request.target} (host '${request.hostId}').`,
      label: isPassword ? "Password" : "Passphrase",
      remember: isPassword
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
            `ssh-mcp needs the ${isPassword ? "password" : "key passphrase"} for ${request.target} (host '${request.hostId}'). ` +
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
          if (!remember) return;
          await store.edit(request.hostId, { password: secret }).then(
            () => log(`stored the password typed for host ${request.hostId}`),
            (error: unknown) => log(`could not store the password for host ${request.hostId}: ${error instanceof Error ? error.message : String(error)}`),
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
    if (!canAskForm(server)) return undefined;
    const result = await server.request(
      {
        method: "elicitation/create",
        params: {
          mode: "form",
          message:
            `Trust host ${knownHostName(key.host, key.port)}? It is not in any known_hosts file and offers this ${key.keyType} key: ${key.fingerprint}. ` +
            `Accept to trust it and record it in ~/.ssh-mcp/known_hosts (as OpenSSH's "yes" at its prompt); decline to refuse the connection.`,
          requestedSchema: { type: "object", properties: {} },
        },
      },
      ElicitResultSchema,
      { timeout: ASK_TIMEOUT_MS },
    );
    return result.action === "accept";
  };
}

/** How long the person has to approve a command. */
const APPROVAL_TIMEOUT_MS = 5 * 60 * 1000;

/** True when the client can show a form (an empty elicitation capability means form, for older clients). */
function canAskForm(server: Server): boolean {
  const modes = server.getClientCapabilities()?.elicitation;
  return !!modes && (!!modes.form || !modes.url);
}

/**
 * Asks the person whether to run a command the host's policy holds for approval: approve,
 * approve similar ones for this session, or decline. Undefined (so: refused) without form elicitation.
 */
export function commandApprover(server: Server): Approver {
  return async (request) => {
    if (!canAskForm(server)) return undefined;
    const result = await server.request(
      {
        method: "elicitation/create",
        params: {
          mode: "form",
          message:
            `Run on host '${request.hostId}' (${request.target})${request.sudo ? " with sudo" : ""}:\n\n${request.command}\n\n` +
            `Asked because: ${request.reason}.`,
          requestedSchema: {
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
        },
      },
      ElicitResultSchema,
      { timeout: APPROVAL_TIMEOUT_MS },
    );
    if (result.action !== "accept") return "decline";
    const decision = result.content?.decision;
    return decision === "approve" ? "once" : decision === "approve-similar" ? "similar" : "decline";
  };
}
