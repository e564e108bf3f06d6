import { GROUP_SEPARATOR, ruleKeyOfEntity } from "../core/entity-naming.js";
import {
  compileFormula,
  formatProblem,
  orderByDependencies,
  problemAt,
  referencedNames,
  type CompiledFormula,
  type FormulaEnvironment,
  type NameUse,
  type ValueKind,
} from "../core/formula/index.js";
import type { FormulaReference } from "../core/rule.js";

/** What a formula needs to know of a rule of the options, whether that rule compiled or not. */
export interface RuleSummary {
  readonly index: number;
  readonly name: string;
  readonly key: string;
  /** The kind of its entities' values; for a formula rule, known once its formula compiled. */
  readonly kind: ValueKind | undefined;
  /** Its named wildcards; undefined when they cannot be known (its topic is broken, and says so). */
  readonly captureNames: readonly string[] | undefined;
  readonly isFormula: boolean;
  /**
   * A formula rule's formula as written; undefined for other rules, and for a formula rule that
   * is not to be compiled (no formula, or a key an earlier rule has: problems of their own).
   */
  readonly formula: string | undefined;
}

export interface CompiledFormulaRule {
  readonly formula: CompiledFormula;
  readonly references: ReadonlyMap<string, FormulaReference>;
}

export type ReportProblem = (index: number, field: string, problem: string) => void;

/** Words of the formula language: a rule with one of them as its key cannot be named in a formula. */
const LANGUAGE_WORDS = ["and", "or", "not", "true", "false"];
/** What follows a rule's key and `__` in the key of one of its fanned-out entities. */
const ENTITY_SUFFIX = /^[a-z0-9]+(?:_[a-z0-9]+)*$/;

/**
 * Compiles the formula of every formula rule, each after the formula rules it uses (so that
 * their kinds are known), and works out what each name in it stands for. Reports cycles, names of
 * rules that are words of the language, the engine's problems, and references that do not fit
 * the rule's named wildcards. Formulas using a formula that failed are not checked: its own
 * problems are reported, and more about the same mistake would only hide them.
 */
export function compileFormulaRules(
  summaries: readonly RuleSummary[],
  report: ReportProblem,
): Map<number, CompiledFormulaRule> {
  const byKey = new Map<string, RuleSummary>();
  for (const summary of summaries) if (!byKey.has(summary.key)) byKey.set(summary.key, summary);
  const formulaRules = summaries.filter((summary) => summary.formula !== undefined);
  const kinds = new Map<string, ValueKind>();
  for (const summary of summaries) if (summary.kind !== undefined) kinds.set(summary.key, summary.kind);

  const targetOf = (name: string): RuleSummary | undefined => {
    const direct = byKey.get(name);
    if (direct !== undefined) return direct;
    const owner = byKey.get(ruleKeyOfEntity(name));
    if (owner === undefined || !name.includes(GROUP_SEPARATOR)) return undefined;
    // A broken topic hides whether the rule fans out: its own problem is the one to report.
    const fansOut = owner.captureNames === undefined || owner.captureNames.length > 0;
    const suffix = name.slice(owner.key.length + GROUP_SEPARATOR.length);
    return fansOut && ENTITY_SUFFIX.test(suffix) ? owner : undefined;
  };

  const uses = new Map<string, readonly NameUse[]>();
  const dependencies = new Map<string, string[]>();
  for (const rule of formulaRules) {
    const names = referencedNames(rule.formula ?? "");
    uses.set(rule.key, names);
    const used = names.flatMap(({ name }) => {
      const target = targetOf(name);
      return target === undefined ? [] : [target.key];
    });
    if (!dependencies.has(rule.key)) dependencies.set(rule.key, used);
  }

  // A formula rule that cannot be compiled has no kind: formulas using it are not checked either.
  const failed = new Set<string>();
  for (const summary of summaries)
    if (summary.isFormula && summary.formula === undefined && byKey.get(summary.key) === summary)
      failed.add(summary.key);
  for (const cycle of cyclesOf(dependencies)) {
    const first = byKey.get(cycle[0] ?? "");
    if (first !== undefined)
      report(
        first.index,
        "formula",
        `a cycle of formulas: ${cycle.join(" → ")}; a formula cannot use its own value, not even through others`,
      );
    for (const key of cycle) failed.add(key);
  }
  const ordered = orderByDependencies(new Map([...dependencies].filter(([key]) => !failed.has(key))));
  // Cycles were taken out above, so an order exists.
  const order = ordered.ok ? ordered.order : [];

  const env: FormulaEnvironment = {
    kindOf: (name) => {
      const target = targetOf(name);
      return target === undefined ? undefined : kinds.get(target.key);
    },
    names: [...byKey.keys()],
  };

  const compiled = new Map<number, CompiledFormulaRule>();
  for (const key of order) {
    const rule = byKey.get(key);
    if (rule?.formula === undefined) continue;
    const text = rule.formula;
    const problem = (field: string, message: string) => report(rule.index, field, message);
    const names = uses.get(key) ?? [];
    if (names.some(({ name }) => failed.has(targetOf(name)?.key ?? ""))) {
      failed.add(key);
      continue;
    }
    const wordProblems = languageWordProblems(text, byKey);
    for (const message of wordProblems) problem("formula", message);
    if (wordProblems.length > 0) {
      failed.add(key);
      continue;
    }
    const result = compileFormula(text, env);
    if (!result.ok) {
      for (const each of result.problems) problem("formula", formatProblem(each));
      failed.add(key);
      continue;
    }
    kinds.set(key, result.formula.resultKind);
    const resolved = resolveReferences(rule, names, targetOf, problem);
    if (resolved === undefined) continue;
    compiled.set(rule.index, { formula: result.formula, references: resolved });
  }
  return compiled;
}

/** Every cycle among formula rules, each once, found by taking each found cycle out and looking again. */
function cyclesOf(dependencies: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const remaining = new Map(dependencies);
  for (;;) {
    const ordered = orderByDependencies(remaining);
    if (ordered.ok) return cycles;
    cycles.push(ordered.cycle);
    for (const key of ordered.cycle) remaining.delete(key);
  }
}

function languageWordProblems(text: string, byKey: ReadonlyMap<string, RuleSummary>): string[] {
  const problems: string[] = [];
  for (const word of LANGUAGE_WORDS) {
    const owner = byKey.get(word);
    if (owner === undefined) continue;
    const at = new RegExp(`(?<![A-Za-z0-9_$])${word}(?![A-Za-z0-9_$])`).exec(text)?.index;
    if (at === undefined) continue;
    problems.push(
      formatProblem(
        problemAt(
          text,
          at,
          `"${word}" is a word of the formula language, so it cannot name rules[${owner.index}] ${JSON.stringify(owner.name)}`,
          "give that rule an id to use it in formulas",
        ),
      ),
    );
  }
  return problems;
}

/**
 * What each name stands for, or undefined after reporting why a name does not fit: a fanned-out
 * rule named whole where its entities cannot be told apart, or a `{placeholder}` of the rule's
 * name that no rule the formula uses can fill.
 */
function resolveReferences(
  rule: RuleSummary,
  names: readonly NameUse[],
  targetOf: (name: string) => RuleSummary | undefined,
  problem: (field: string, message: string) => void,
): Map<string, FormulaReference> | undefined {
  const text = rule.formula ?? "";
  const own = rule.captureNames ?? [];
  const references = new Map<string, FormulaReference>();
  let fine = true;
  for (const { name, at } of names) {
    const target = targetOf(name);
    if (target === undefined) continue; // compileFormula has made sure every name is known
    const captures = target.captureNames ?? [];
    if (target.key !== name || captures.length === 0) {
      references.set(name, { kind: "entity", ruleKey: target.key, entityKey: name });
      continue;
    }
    const missing = captures.filter((capture) => !own.includes(capture));
    if (missing.length === 0) {
      references.set(name, { kind: "joined", ruleKey: target.key, captureNames: captures });
      continue;
    }
    fine = false;
    const wildcards = listOf(missing.map((capture) => `{${capture}}`));
    const example = `${name}${GROUP_SEPARATOR}<${missing.join("_")}>`;
    problem(
      "formula",
      formatProblem(
        problemAt(
          text,
          at,
          `"${name}" is one entity per ${wildcards}, and this rule's name has no ${wildcards} to choose one by`,
          `write one of them by its key, as ${example}, or put ${wildcards} in this rule's name to compute one entity per value`,
        ),
      ),
    );
  }
  if (!fine || own.length === 0) return fine ? references : undefined;

  const joined = [...references.values()].flatMap((reference) =>
    reference.kind === "joined" ? [reference.captureNames] : [],
  );
  const unfilled = own.filter((capture) => !joined.some((captures) => captures.includes(capture)));
  for (const capture of unfilled)
    problem(
      "name",
      `{${capture}} is not a named wildcard of any rule the formula uses, so it has no values to take`,
    );
  if (unfilled.length > 0) return undefined;
  if (!joined.some((captures) => captures.length === own.length)) {
    problem(
      "name",
      `no rule the formula uses has all of ${listOf(own.map((capture) => `{${capture}}`))}, so there are no values to make entities of`,
    );
    return undefined;
  }
  return references;
}

function listOf(words: readonly string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words.at(-1) ?? ""}`;
}
