import { z } from "zod";
import { boundedString, wholeNumber } from "../bounded-schemas.js";

/** Longest value of each host string field, in characters; the tool schemas, add/edit validation and hosts.json all use these. */
export const MAX_LENGTH = {
  host_id: 64,
  /** The longest DNS name. */
  host: 253,
  username: 256,
  password: 1024,
  sudoPassword: 1024,
  /** PATH_MAX on Linux. */
  keyPath: 4096,
  /** "SHA256:" and 43 base64 characters, with room for '=' padding and stray spaces. */
  hostKey: 64,
  proxyJump: 64,
} as const;

/** Most hosts one hosts.json may hold; add-host refuses more. */
export const MAX_HOSTS = 10_000;

/** One schema per host field with its limits; the tools add descriptions, edit-host makes them optional. */
export const hostFieldSchemas = {
  host_id: boundedString(MAX_LENGTH.host_id),
  host: boundedString(MAX_LENGTH.host),
  port: wholeNumber(1, 65535),
  username: boundedString(MAX_LENGTH.username),
  password: boundedString(MAX_LENGTH.password),
  sudoPassword: boundedString(MAX_LENGTH.sudoPassword),
  keyPath: boundedString(MAX_LENGTH.keyPath),
  hostKey: boundedString(MAX_LENGTH.hostKey),
  agentForward: z.boolean({ error: "must be true or false" }),
  proxyJump: boundedString(MAX_LENGTH.proxyJump),
};
