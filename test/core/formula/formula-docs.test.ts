import { existsSync, readFileSync } from "node:fs";
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
 * The formulas section is drafted in docs-drafts/formulas.md until it is merged into DOCS.md;
 * these tests read the draft while it exists, DOCS.md after. Once merged, the YAML examples are
 * also checked as options by test/docs/docs-examples.test.ts.
 */
const draft = new URL("../../../docs-drafts/formulas.md", import.meta.url);
const docs = readFileSync(existsSync(draft) ? draft : new URL("../../../DOCS.md", import.meta.url), "utf8");

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
  const env: FormulaEnvironment = {
    kindOf: (name) => kinds.get(name),
    get names() {
      return [...kinds.keys()];
    },
  };
  const rules = documentedRules();
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
    for (const { name } of FORMULA_FUNCTIONS) expect(docs).toContain(`\`${name}(`);
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
    const rows = [...docs.matchAll(/^\| `([^`]+)` \| `([^`]+)` \|$/gm)];
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
