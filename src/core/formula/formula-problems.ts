import type { FormulaProblem } from "./formula-types.js";

/** The 1-based line and column of a text index; columns count characters, not UTF-16 units. */
export function positionAt(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(index, text.length)));
  const lineStart = before.lastIndexOf("\n") + 1;
  let line = 1;
  for (let at = before.indexOf("\n"); at >= 0; at = before.indexOf("\n", at + 1)) line += 1;
  return { line, column: Array.from(before.slice(lineStart)).length + 1 };
}

/** `line:column`, as reasons and problems print a position. */
export function where(text: string, index: number): string {
  const { line, column } = positionAt(text, index);
  return `${line}:${column}`;
}

export function problemAt(text: string, index: number, message: string, hint?: string): FormulaProblem {
  return { message, ...positionAt(text, index), ...(hint === undefined ? {} : { hint }) };
}

/** `unknown reference "living_room_temp" at 1:1; did you mean "living_room_temperature"?` */
export function formatProblem(problem: FormulaProblem): string {
  const hint = problem.hint === undefined ? "" : `; ${problem.hint}`;
  return `${problem.message} at ${problem.line}:${problem.column}${hint}`;
}

/**
 * Text the user typed, quoted, cut short when long, and escaped so that it stays on one line and
 * shows what it is: controls, line separators and bidirectional overrides as `\u` escapes.
 */
export function quote(text: string): string {
  const characters = Array.from(text);
  const shown = characters.length > 40 ? `${characters.slice(0, 37).join("")}...` : text;
  return JSON.stringify(shown).replace(
    /[\p{Cc}\p{Zl}\p{Zp}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
