import { parseArgs } from "node:util";
import { z } from "zod";
import { SshMcpError } from "../errors.js";
import type { HostInput, HostPatch } from "../hosts/host-config.js";
import { addHostShape, editHostShape } from "../hosts/host-arguments.js";
import type { HostDirectory } from "../hosts/host-directory.js";
import { describeListedHost, editNotes, hostDetails } from "../hosts/host-summary.js";
import { UsageError } from "./cli-errors.js";
import type { SecretSource } from "./secret-prompt.js";
import { HOSTS_USAGE } from "./usage.js";

const FIELD_OPTIONS = {
  host: { type: "string" },
  port: { type: "string" },
  username: { type: "string" },
  "key-path": { type: "string" },
  "host-key": { type: "string" },
  "proxy-jump": { type: "string" },
  "agent-forward": { type: "boolean" },
  "ask-password": { type: "boolean" },
  "ask-sudo-password": { type: "boolean" },
} as const;
const EDIT_OPTIONS = {
  ...FIELD_OPTIONS,
  "no-agent-forward": { type: "boolean" },
  "clear-password": { type: "boolean" },
  "clear-sudo-password": { type: "boolean" },
} as const;

/** The option each host field is given with, for messages. */
const FLAG_OF: Record<string, string> = {
  host_id: "ID",
  host: "--host",
  port: "--port",
  username: "--username",
  keyPath: "--key-path",
  hostKey: "--host-key",
  proxyJump: "--proxy-jump",
  agentForward: "--agent-forward",
  password: "the password",
  sudoPassword: "the sudo password",
};

// Anything that looks like a password option: refused with the reason, never parsed.
const PASSWORD_ARGUMENT = /^--?(sudo-?)?pass(word|wd)?(=|$)/i;

/** `ssh-mcp hosts SUBCOMMAND ...`: resolves to what to print on stdout. */
export async function runHostsCommand(args: string[], hosts: HostDirectory, secrets: SecretSource): Promise<string> {
  const refused = args.find((a) => PASSWORD_ARGUMENT.test(a));
  if (refused !== undefined) {
    const option = refused.split("=")[0]!;
    const ask = /sudo/i.test(option) ? "--ask-sudo-password" : "--ask-password";
    throw new UsageError(
      `${option} is refused: a password given as an argument stays in your shell's history and any user can read it with ps. ` +
        `Use ${ask}: it asks for the password with echo off.`,
      HOSTS_USAGE,
    );
  }
  const [sub, ...rest] = args;
  if (rest.includes("--help") || rest.includes("-h")) return HOSTS_USAGE;
  switch (sub) {
    case "list":
      parse(rest, {}, 0);
      return list(hosts);
    case "add":
      return add(rest, hosts, secrets);
    case "edit":
      return edit(rest, hosts, secrets);
    case "remove": {
      const { positionals } = parse(rest, {}, 1);
      const removed = await hosts.remove(positionals[0]!);
      return `Removed host '${removed.host_id}'.\n`;
    }
    case undefined:
    case "--help":
    case "-h":
    case "help":
      if (sub === undefined) throw new UsageError("hosts needs a subcommand: list, add, edit or remove", HOSTS_USAGE);
      return HOSTS_USAGE;
    default:
      throw new UsageError(`unknown subcommand 'hosts ${sub}'`, HOSTS_USAGE);
  }
}

async function list(hosts: HostDirectory): Promise<string> {
  const { hosts: all, sshConfigProblem } = await hosts.list();
  const lines = all.map(describeListedHost);
  if (sshConfigProblem) lines.push(`ssh config hosts are missing: ${sshConfigProblem}`);
  return lines.length ? `${lines.join("\n")}\n` : "No hosts saved yet, and none in ~/.ssh/config. Add one with: ssh-mcp hosts add ID --host NAME --username USER\n";
}

async function add(args: string[], hosts: HostDirectory, secrets: SecretSource): Promise<string> {
  const { values, positionals } = parse(args, FIELD_OPTIONS, 1);
  for (const required of ["host", "username"] as const) {
    if (values[required] === undefined) throw new UsageError(`hosts add needs --${required}`, HOSTS_USAGE);
  }
  const input = checked(addHostShape, { host_id: positionals[0], ...fields(values) }) as HostInput;
  const who = `${input.username}@${input.host}`;
  if (values["ask-password"]) input.password = await askNew(secrets, `Login password for ${who}: `);
  if (values["ask-sudo-password"]) input.sudoPassword = await askNew(secrets, `sudo password for ${who}: `);
  const host = await hosts.add(checked(addHostShape, input) as HostInput);
  return `Added host '${host.host_id}': ${hostDetails(host).join(", ")}.\n`;
}

async function edit(args: string[], hosts: HostDirectory, secrets: SecretSource): Promise<string> {
  const { values, positionals } = parse(args, EDIT_OPTIONS, 1);
  const hostId = positionals[0]!;
  for (const [ask, clear] of [
    ["ask-password", "clear-password"],
    ["ask-sudo-password", "clear-sudo-password"],
    ["agent-forward", "no-agent-forward"],
  ] as const) {
    if (values[ask] && values[clear]) throw new UsageError(`--${ask} and --${clear} contradict each other: give one`, HOSTS_USAGE);
  }
  const patch: HostPatch = fields(values);
  if (values["no-agent-forward"]) patch.agentForward = false;
  if (values["clear-password"]) patch.password = "";
  if (values["clear-sudo-password"]) patch.sudoPassword = "";
  checked(editHostShape, { host_id: hostId, ...patch });
  // Before any prompt: typing a password for a host that cannot be edited would be wasted.
  const current = await hosts.editable(hostId);
  const who = `${current.username}@${current.host}`;
  if (values["ask-password"]) patch.password = await askNew(secrets, `Login password for ${who}: `);
  if (values["ask-sudo-password"]) patch.sudoPassword = await askNew(secrets, `sudo password for ${who}: `);
  checked(editHostShape, { host_id: hostId, ...patch });
  const result = await hosts.edit(hostId, patch);
  return `${[`Updated host '${result.host.host_id}': ${hostDetails(result.host).join(", ")}.`, ...editNotes(result)].join(" ")}\n`;
}

/** The host fields given as options, named as the tools name them. */
function fields(values: Record<string, string | boolean | undefined>): HostPatch {
  const out: Record<string, unknown> = {};
  const text = (option: string, field: string) => {
    if (typeof values[option] === "string") out[field] = values[option];
  };
  text("host", "host");
  text("username", "username");
  text("key-path", "keyPath");
  text("host-key", "hostKey");
  text("proxy-jump", "proxyJump");
  // Digits become a number; anything else goes on as given, so the message quotes it.
  if (typeof values.port === "string") out.port = /^\d{1,6}$/.test(values.port) ? Number(values.port) : values.port;
  if (values["agent-forward"]) out.agentForward = true;
  return out as HostPatch;
}

/** A new secret: asked twice at a terminal, so a typo is caught before it is stored. */
async function askNew(secrets: SecretSource, prompt: string): Promise<string> {
  const value = await secrets.read(prompt);
  if (secrets.interactive && (await secrets.read("Again: ")) !== value) {
    throw new SshMcpError("The two entries differ; nothing was changed. Run the command again.");
  }
  return value;
}

/** Check `value` against a tools' schema, so the CLI has the tools' limits and messages (never quoting a secret). */
function checked(shape: z.ZodRawShape, value: Record<string, unknown>): Record<string, unknown> {
  const result = z.strictObject(shape).safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${FLAG_OF[String(issue.path[0])] ?? String(issue.path[0])}: ${issue.message}`);
  throw new UsageError(problems.join("; "), HOSTS_USAGE);
}

type Options = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>["options"]>;

/** Parse with the given options and exactly `positionals` plain arguments; UsageError otherwise. */
function parse(args: string[], options: Options, positionals: number) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.split("\n")[0]! : String(error), HOSTS_USAGE);
  }
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(
      positionals === 0 ? `unexpected argument '${parsed.positionals[0]}'` : parsed.positionals.length === 0 ? "the host_id (ID) is missing" : `unexpected argument '${parsed.positionals[1]}'`,
      HOSTS_USAGE,
    );
  }
  return parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
}
