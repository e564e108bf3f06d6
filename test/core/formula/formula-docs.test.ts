import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ruleKey } from "../../../src/core/entity-naming.js";
import {
  compileFormula,
  FORMULA_FUNCTIONS,
  formatProblem,
  type FormulaEnvironment,
  type ValueKind,
} from "../../../src/core/formula/index.js";

/**
 * DOCS.md's formulas section, as the engine sees it. Its YAML examples are also checked as
 * options, with every other check of the add-on's, by test/docs/docs-examples.test.ts.
 */
const docs = readFileSync(new URL("../../../DOCS.md", import.meta.url), "utf8");
/** Where the function list and the table of mistakes are: other tables of two code cells are no formulas. */
const start = docs.indexOf("\n## Formulas\n");
const section = docs.slice(start, docs.indexOf("\n## ", start + 1));

interface DocumentedRule {
  readonly name: string;
  readonly id?: string;
  readonly function: string;
  readonly formula?: string;
}

function documentedRules(): DocumentedRule[] {
  const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
  return blocks.flatMap((block) => {
    const parsed: unknown = parse(block.trimStart().startsWith("- ") ? `rules:\n${block}` : block);
    const rules = (parsed as { rules?: unknown } | null)?.rules;
    return Array.isArray(rules) ? (rules as DocumentedRule[]) : [];
  });
}

/** The names the documented rules define, formulas included, as the add-on would see them. */
function documentedEnvironment(): { env: FormulaEnvironment; formulas: DocumentedRule[] } {
  const kinds = new Map<string, ValueKind>();
  // An entity of a fanned-out rule is named `<rule key>__<value>`.
  const fannedOut = new Set<string>();
  const env: FormulaEnvironment = {
    kindOf: (name) => {
      const [ruleKeyPart = "", value] = name.split("__");
      return value === undefined || !fannedOut.has(ruleKeyPart) ? kinds.get(name) : kinds.get(ruleKeyPart);
    },
    get names() {
      return [...kinds.keys()];
    },
  };
  const rules = documentedRules();
  for (const rule of rules) if (rule.name.includes("{")) fannedOut.add(ruleKey(rule.id, rule.name));
  for (const rule of rules)
    if (rule.function !== "formula")
      kinds.set(
        ruleKey(rule.id, rule.name),
        ["all", "any", "none"].includes(rule.function) ? "boolean" : "number",
      );
  const formulas = rules.filter((rule) => rule.function === "formula");
  for (const rule of formulas) {
    const result = compileFormula(rule.formula ?? "", env);
    if (result.ok) kinds.set(ruleKey(rule.id, rule.name), result.formula.resultKind);
  }
  return { env, formulas };
}

describe("the formulas documentation", () => {
  it("lists every function", () => {
    for (const { name } of FORMULA_FUNCTIONS) expect(section).toContain(`\`${name}(`);
  });

  it("shows formulas that compile", () => {
    const { env, formulas } = documentedEnvironment();
    expect(formulas.length).toBeGreaterThan(3);
    for (const rule of formulas) {
      const result = compileFormula(rule.formula ?? "", env);
      expect(result.ok ? [] : result.problems.map(formatProblem), rule.name).toEqual([]);
    }
  });

  it("shows mistakes as the add-on reports them", () => {
    const { env } = documentedEnvironment();
    const rows = [...section.matchAll(/^\| `([^`]+)` \| `([^`]+)` \|$/gm)];
    expect(rows.length).toBeGreaterThan(3);
    for (const [, formula = "", shown = ""] of rows) {
      const result = compileFormula(formula, env);
      const reported = result.ok
        ? "compiles"
        : formatProblem(result.problems[0] ?? { message: "", line: 0, column: 0 });
      // A long list is shown cut short with "…".
      if (shown.endsWith("…"))
        expect(reported.startsWith(shown.slice(0, -1)), `${formula}: ${reported}`).toBe(true);
      else expect(reported).toBe(shown);
    }
  });
});
