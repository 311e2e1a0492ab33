import { z } from "zod";

// Messages leave the field out: the SDK appends " at <field>" to each, and hosts.json errors put the path first.

/** A string of at most `max` characters (UTF-16 code units, as String.length counts). */
export function boundedString(max: number) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
    .max(max, { error: (issue) => `too long (${String((issue.input as string).length)} characters; the limit is ${max})` });
}

/** A whole number from `min` to `max`. */
export function wholeNumber(min: number, max: number) {
  const error = (issue: { input?: unknown }) =>
    issue.input === undefined ? "is required" : `must be a whole number from ${min} to ${max}, not ${brief(issue.input)}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A client's value quoted short: it may be a string of megabytes. */
function brief(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
