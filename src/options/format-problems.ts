import type { z } from "zod";

/** `rules[2].function` from zod's `["rules", 2, "function"]`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text === "" ? String(part) : `.${String(part)}`;
  }
  return text === "" ? "options" : text;
}

/** One line per problem, naming the field, in words a user of the Configuration tab understands. */
export function formatIssue(issue: z.core.$ZodIssue): string {
  const where = fieldPath(issue.path);
  switch (issue.code) {
    case "invalid_value":
      return `${where}: expected one of ${issue.values.map(String).join(", ")}`;
    case "unrecognized_keys":
      return issue.keys.map((key) => `${fieldPath([...issue.path, key])}: unknown option`).join("\n");
    case "invalid_type":
      if (where.endsWith("password")) return `${where}: expected ${issue.expected}`;
      return issue.input === undefined
        ? `${where}: required`
        : `${where}: expected ${issue.expected === "int" ? "a whole number" : issue.expected}, got ${describe(issue.input)}`;
    case "too_small":
      return issue.origin === "string"
        ? `${where}: cannot be empty`
        : `${where}: must be at least ${String(issue.minimum)}`;
    case "too_big":
      return issue.origin === "string" && typeof issue.input === "string"
        ? `${where}: must be at most ${String(issue.maximum)} characters long, not ${issue.input.length}`
        : `${where}: must be at most ${String(issue.maximum)}`;
    case "invalid_format":
    case "custom":
    default:
      return `${where}: ${issue.message}`;
  }
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => formatIssue(issue).split("\n"));
}

function describe(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "a list";
  if (typeof input === "string") return `"${input.length > 30 ? `${input.slice(0, 27)}...` : input}"`;
  if (typeof input === "object") return "an object";
  return typeof input === "number" || typeof input === "boolean" ? String(input) : typeof input;
}
