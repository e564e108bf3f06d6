import type { z } from "zod";
import { ruleLabel } from "./compile-rules.js";

/**
 * `rules[2].function` from zod's `["rules", 2, "function"]`; with the rule's name,
 * `rules[2] "Living room windows".function`.
 */
export function fieldPath(path: readonly PropertyKey[], ruleName?: unknown): string {
  let text = "";
  for (const [at, part] of path.entries()) {
    if (typeof part === "number")
      text = at === 1 && path[0] === "rules" ? ruleLabel(part, ruleName) : `${text}[${part}]`;
    else text += text === "" ? String(part) : `.${String(part)}`;
  }
  return text === "" ? "options" : text;
}

/** One line per problem, naming the field, in words a user of the Configuration tab understands. */
export function formatIssue(
  issue: z.core.$ZodIssue,
  prefix: readonly PropertyKey[] = [],
  ruleName?: unknown,
): string {
  const path = [...prefix, ...issue.path];
  const where = fieldPath(path, ruleName);
  switch (issue.code) {
    case "invalid_value":
      return `${where}: expected one of ${issue.values.map(String).join(", ")}`;
    case "unrecognized_keys":
      return issue.keys.map((key) => `${fieldPath([...path, key], ruleName)}: unknown option`).join("\n");
    case "invalid_type":
      if (where.endsWith("password")) return `${where}: expected ${issue.expected}`;
      return issue.input === undefined
        ? `${where}: required`
        : `${where}: expected ${issue.expected === "int" ? "a whole number" : issue.expected}, got ${describe(issue.input)}`;
    case "too_small":
      if (issue.origin === "array") return `${where}: cannot be an empty list`;
      return issue.origin === "string"
        ? `${where}: cannot be empty`
        : `${where}: must be at least ${String(issue.minimum)}`;
    case "too_big":
      return issue.origin === "string" && typeof issue.input === "string"
        ? `${where}: must be at most ${String(issue.maximum)} characters long, not ${issue.input.length}`
        : `${where}: must be at most ${String(issue.maximum)}`;
    case "invalid_union": {
      // `topic`: a text or a list of texts. A value of one of the kinds is judged as that kind.
      const near = issue.errors.find(
        (branch) =>
          branch[0] !== undefined && (branch[0].code !== "invalid_type" || branch[0].path.length > 0),
      );
      if (near?.[0] !== undefined) return formatIssue(near[0], path, ruleName);
      if (issue.input === undefined) return `${where}: required`;
      return `${where}: expected a text or a list of texts, got ${describe(issue.input)}`;
    }
    case "invalid_format":
    case "custom":
    default:
      return `${where}: ${issue.message}`;
  }
}

export function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
  ruleName?: unknown,
): string[] {
  return issues.flatMap((issue) => formatIssue(issue, prefix, ruleName).split("\n"));
}

function describe(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "a list";
  if (typeof input === "string") return `"${input.length > 30 ? `${input.slice(0, 27)}...` : input}"`;
  if (typeof input === "object") return "an object";
  return typeof input === "number" || typeof input === "boolean" ? String(input) : typeof input;
}
