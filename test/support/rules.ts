import type { DerivedValue, SourceStatus, UnusableSource } from "../../src/core/derived-value.js";
import type { EntityIdentity } from "../../src/core/entity-group.js";
import type { ReadingsStore } from "../../src/core/readings-store.js";
import { isFormulaRule, type ConfiguredRule, type Rule } from "../../src/core/rule.js";
import { parseOptions } from "../../src/options/parse-options.js";

/** A rule as a user writes it in the Configuration tab (snake_case keys). */
export type RuleJson = Record<string, unknown>;

/** Compiles rules of either kind through parseOptions, failing the test with the problems if they are invalid. */
export function compileAll(
  rules: readonly RuleJson[],
  options: Record<string, unknown> = {},
): ConfiguredRule[] {
  const result = parseOptions({ ...options, rules });
  if (!result.ok) throw new Error(`options rejected:\n${result.problems.join("\n")}`);
  return [...result.settings.rules];
}

/** Compiles aggregate rules (no formulas: see compileAll) through parseOptions. */
export function compile(rules: readonly RuleJson[], options: Record<string, unknown> = {}): Rule[] {
  return compileAll(rules, options).map((rule) => {
    if (isFormulaRule(rule)) throw new Error(`${rule.key} is a formula rule: use compileAll`);
    return rule;
  });
}

/** Compiles exactly one rule. */
export function compileOne(rule: RuleJson, options: Record<string, unknown> = {}): Rule {
  const [compiled] = compile([rule], options);
  if (compiled === undefined) throw new Error("no rule compiled");
  return compiled;
}

/** The problems parseOptions reports for these options (an empty list when they are valid). */
export function problemsOf(options: unknown): string[] {
  const result = parseOptions(options);
  return result.ok ? [] : result.problems;
}

/**
 * The problems, each naming its rule by index alone (`rules[0].unit: …` for
 * `rules[0] "Mean".unit: …`): for tests about what is said of a field, not of how rules are named.
 */
export function fieldProblemsOf(options: unknown): string[] {
  return problemsOf(options).map((problem) => problem.replace(/^(rules\[\d+\]) "(?:[^"\\]|\\.)*"/, "$1"));
}

/** A derived value with its listed sources sorted by state, as tests ask about them. */
export interface ReadView extends DerivedValue {
  /** Sources that counted. */
  readonly fresh: string[];
  readonly stale: string[];
  readonly offline: string[];
  readonly unusable: string[];
  readonly outOfRange: string[];
  /** The listed status of each source, by name. */
  readonly statusOf: Readonly<Record<string, SourceStatus>>;
}

function viewOf(value: DerivedValue): ReadView {
  const named = (state: SourceStatus["state"]) =>
    value.sources.filter((status) => status.state === state).map((status) => status.source);
  return {
    ...value,
    fresh: named("counted"),
    stale: named("stale"),
    offline: named("offline"),
    unusable: named("unusable"),
    outOfRange: named("out_of_range"),
    statusOf: Object.fromEntries(value.sources.map((status) => [status.source, status])),
  };
}

/** Reads every entity at `now`, collecting unusable-source warnings. */
export function readAll(
  store: ReadingsStore,
  now: number,
  ruleKeys?: readonly string[],
): { values: ReadView[]; warnings: UnusableSource[]; byKey: Map<string, ReadView> } {
  const result = store.read(now, ruleKeys);
  const values = result.values.map(viewOf);
  return {
    values,
    warnings: result.turnedUnusable,
    byKey: new Map(values.map((value) => [value.identity.entityKey, value])),
  };
}

/** The only derived value at `now`; fails if there is not exactly one. */
export function readOne(store: ReadingsStore, now: number, ruleKeys?: readonly string[]): ReadView {
  const { values } = readAll(store, now, ruleKeys);
  if (values.length !== 1 || values[0] === undefined)
    throw new Error(`expected one entity, got ${values.length}`);
  return values[0];
}

/** The numeric state, or undefined when the state is not a number. */
export function numberOf(value: DerivedValue | undefined): number | undefined {
  return value?.state.kind === "number" ? value.state.value : undefined;
}

/** The binary state, or undefined when the state is not binary. */
export function onOf(value: DerivedValue | undefined): boolean | undefined {
  return value?.state.kind === "binary" ? value.state.on : undefined;
}

/**
 * Entities after a read at `now`: a fanned-out entity exists only once a read has found it a
 * usable reading, so a test of keys reads first, as the add-on does.
 */
export function entitiesAfterRead(store: ReadingsStore, now: number): EntityIdentity[] {
  store.read(now);
  return store.entities();
}
