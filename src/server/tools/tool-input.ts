import { z } from "zod";

/**
 * A tool's input schema: a strict object, so a misspelt argument (hostkey for hostKey) is refused
 * rather than dropped, and the advertised JSON schema says additionalProperties: false.
 */
export function toolInput<Shape extends z.ZodRawShape>(shape: Shape) {
  const valid = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? unknownArguments(issue.keys, valid) : undefined),
  });
}

function unknownArguments(keys: readonly string[], valid: readonly string[]): string {
  // Names are the client's: cut them short so a pasted blob cannot flood the reply.
  const named = keys.slice(0, 5).map((key) => {
    const shown = key.length > 40 ? `${key.slice(0, 37)}...` : key;
    const near = valid.find((v) => loose(v) === loose(key));
    return near ? `'${shown}' (did you mean '${near}'?)` : `'${shown}'`;
  });
  const more = keys.length > 5 ? ` and ${keys.length - 5} more` : "";
  const takes = valid.length ? `Valid arguments: ${valid.join(", ")}.` : "This tool takes no arguments.";
  return `Unknown argument${keys.length > 1 ? "s" : ""} ${named.join(", ")}${more}. ${takes}`;
}

/** hostkey, host-key and HOST_KEY all mean hostKey; session_id and sessionId are easily swapped. */
function loose(name: string): string {
  return name.toLowerCase().replace(/[-_\s]/g, "");
}
