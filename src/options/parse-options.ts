import { z } from "zod";
import { compileRules, ruleLabel, type IndexedProblem, type IndexedRuleOptions } from "./compile-rules.js";
import { formatIssues } from "./format-problems.js";
import { optionsSchema, ruleOptionsSchema } from "./schema.js";
import type { Settings } from "./settings.js";

/** The options with each rule left unchecked: rules are checked one by one, so that one bad rule hides nothing. */
const outerSchema = optionsSchema.extend({ rules: z.array(z.unknown()).default([]) });

export type OptionsResult =
  { readonly ok: true; readonly settings: Settings } | { readonly ok: false; readonly problems: string[] };

/**
 * Validates options as parsed from JSON; on failure, one line per problem and nothing else. Every
 * problem is found in one pass: those of the options' shape, and those of each rule, whether
 * its fields have the wrong type or make a rule Home Assistant would refuse, so that a user fixes
 * them all in one round.
 */
export function parseOptions(input: unknown): OptionsResult {
  const outer = outerSchema.safeParse(input, { reportInput: true });
  const problems: string[] = outer.success ? [] : formatIssues(outer.error.issues);
  const rawRules = outer.success ? outer.data.rules : rulesOf(input);
  const checked = rawRules.map((raw, index) => checkRule(raw, index));
  const valid = checked.flatMap((rule) => (rule.options === undefined ? [] : [rule.options]));
  const defaults = optionsSchema.parse({});
  const { rules, problems: ruleProblems } = compileRules(outer.success ? outer.data : defaults, valid);
  // In the order of the rules, each rule's schema problems before the others.
  const byRule = checked.map((rule) => [...rule.problems]);
  for (const problem of ruleProblems) byRule[problem.index]?.push(formatRuleProblem(problem, rawRules));
  problems.push(...byRule.flat());
  if (!outer.success) return { ok: false, problems };
  const options = outer.data;
  problems.unshift(...baseTopicProblems(options.base_topic, options.discovery_prefix));
  if (problems.length > 0) return { ok: false, problems };
  const settings: Settings = {
    logLevel: options.log_level,
    firstReadDelayMs: options.first_read_delay * 1000,
    readIntervalMs: options.read_interval * 1000,
    discoveryPrefix: options.discovery_prefix,
    baseTopic: options.base_topic,
    rules,
    mqtt: options.mqtt,
  };
  return { ok: true, settings: Object.freeze(settings) };
}

/** The first level of Home Assistant's own status topic (`homeassistant/status`, its birth and will). */
const HOME_ASSISTANT_LEVEL = "homeassistant";

/**
 * The add-on's `<base_topic>/status` must not land on Home Assistant's status topic, which is
 * `<discovery_prefix>/status` as the add-on listens to it and `homeassistant/status` by default.
 * Both options are single topic levels, so one is a prefix of the other in MQTT's sense (`a` of
 * `a/b`, level by level) only when they are equal; `home` and `homeassistant` share no topic.
 */
function baseTopicProblems(baseTopic: string, discoveryPrefix: string): string[] {
  const clash = `the add-on's online/offline on ${baseTopic}/status would be taken for Home Assistant's own status`;
  if (baseTopic === discoveryPrefix)
    return [`base_topic: must differ from discovery_prefix ("${discoveryPrefix}"): ${clash}`];
  if (baseTopic === HOME_ASSISTANT_LEVEL)
    return [`base_topic: must not be ${HOME_ASSISTANT_LEVEL}: ${clash}`];
  return [];
}

/** The rules of options whose other fields are wrong: still checked, when they are a list. */
function rulesOf(input: unknown): unknown[] {
  if (typeof input !== "object" || input === null || !("rules" in input)) return [];
  const rules = input.rules;
  return Array.isArray(rules) ? rules : [];
}

/**
 * One rule's schema problems, and the rule to compile: the rule itself when it is valid, else the
 * rule without its wrong fields when that still makes a rule, so that its other problems show too.
 */
function checkRule(raw: unknown, index: number): { problems: string[]; options?: IndexedRuleOptions } {
  const parsed = ruleOptionsSchema.safeParse(raw, { reportInput: true });
  if (parsed.success) return { problems: [], options: { index, options: parsed.data } };
  const name = nameOf(raw);
  const problems = formatIssues(parsed.error.issues, ["rules", index], name);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { problems };
  const wrong = new Set(parsed.error.issues.map((issue) => issue.path[0]));
  // Unknown keys are reported on the rule itself; leaving them out is enough.
  const known = new Set(Object.keys(ruleOptionsSchema.shape));
  const rest = Object.fromEntries(Object.entries(raw).filter(([key]) => !wrong.has(key) && known.has(key)));
  const repaired = ruleOptionsSchema.safeParse(rest);
  // The fields left out have said what is wrong with them; compiling must not say it again.
  const omitted = new Set([...wrong].filter((key): key is string => typeof key === "string"));
  return repaired.success ? { problems, options: { index, options: repaired.data, omitted } } : { problems };
}

function nameOf(raw: unknown): unknown {
  return typeof raw === "object" && raw !== null && "name" in raw ? raw.name : undefined;
}

function formatRuleProblem(problem: IndexedProblem, rawRules: readonly unknown[]): string {
  return `${ruleLabel(problem.index, nameOf(rawRules[problem.index]))}.${problem.field}: ${problem.problem}`;
}
