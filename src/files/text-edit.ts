import { EditMatchError } from "./file-errors.js";

/** The text after an exact-match edit, and how many places changed. */
export interface EditOutcome {
  text: string;
  replacements: number;
}

/**
 * Replace `oldText` in `text` exactly: the one occurrence, or every one with `replaceAll`.
 * Refuses (EditMatchError, with the count) when it is absent, or ambiguous without replaceAll.
 */
export function applyEdit(path: string, text: string, oldText: string, newText: string, replaceAll: boolean): EditOutcome {
  const count = occurrences(text, oldText);
  if (count === 0) throw new EditMatchError(path, 0, missHint(text, oldText));
  if (count > 1 && !replaceAll) throw new EditMatchError(path, count);
  // split/join and a replacer function: no `$&` or `$1` in new_text is ever interpreted.
  const updated = replaceAll ? text.split(oldText).join(newText) : text.replace(oldText, () => newText);
  return { text: updated, replacements: count };
}

/** Non-overlapping occurrences, as split() and replace() see them. */
function occurrences(text: string, part: string): number {
  let count = 0;
  for (let at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length)) count++;
  return count;
}

/** The usual reasons a copied snippet does not match. */
function missHint(text: string, oldText: string): string {
  if (text.includes("\r\n") && oldText.includes("\n") && !oldText.includes("\r\n")) {
    return " The file has Windows line endings (\\r\\n); old_text has plain \\n.";
  }
  if (text.includes("\t") && / {2,}/.test(oldText) && !oldText.includes("\t")) {
    return " The file contains tabs; old_text has runs of spaces where it may need tabs.";
  }
  return "";
}
