import { isBinaryFunction, usesOnValue, type FunctionName } from "../core/aggregate-functions.js";
import { placeholders, ruleKey } from "../core/entity-naming.js";
import { parseAvailabilityPattern } from "../core/device-availability.js";
import type { AvailabilitySetting, ConfiguredRule, FormulaRule, Presentation, Rule } from "../core/rule.js";
import { parseTopicList } from "../core/topic-filter.js";
import { onValueText } from "../core/reading-value.js";
import { unitNamed } from "../core/units.js";
import { parseValuePaths, type ValuePath } from "../core/value-path.js";
import {
  SENSOR_DEVICE_CLASSES,
  canonicalUnit,
  binarySensorDeviceClassProblem,
  sensorDeviceClassProblem,
  stateClassProblem,
  stateClassUnitProblem,
} from "../homeassistant/device-classes.js";
import { compileFormulaRules, type CompiledFormulaRule, type RuleSummary } from "./compile-formula-rules.js";
import type { Options, RuleOptions } from "./schema.js";

const DEFAULT_ON_VALUE = "ON";
/**
 * Functions whose value is a count of things now (readings, lights on): a measurement, so that
 * Home Assistant keeps long-term statistics of them unless the rule says otherwise.
 */
export const COUNTING_FUNCTIONS: ReadonlySet<string> = new Set(["count", "count_on"]);
/** Numeric rules on change: at most one publish per entity in this many seconds, unless set. */
export const DEFAULT_MIN_INTERVAL_S = 10;

/**
 * Turns validated rule options into the core's rules, catching here every rule Home Assistant
 * would refuse later (a unit its device class forbids, a unit on a binary sensor, …). Formula
 * rules come after the others are known, since their formulas name them; the rules keep the
 * order of the options, and so do the problems.
 */
export function compileRules(
  options: Pick<Options, "max_age" | "read_interval" | "max_sources">,
  ruleOptions: readonly IndexedRuleOptions[],
): { rules: ConfiguredRule[]; problems: IndexedProblem[] } {
  const problems: IndexedProblem[] = [];
  const omittedOf = new Map(ruleOptions.map((each) => [each.index, each.omitted]));
  const reporterOf = (index: number) => (field: string, problem: string) => {
    if (omittedOf.get(index)?.has(field) !== true) problems.push({ index, field, problem });
  };
  const keyOwners = new Map<string, IndexedRuleOptions>();
  const compiled: (ConfiguredRule | undefined)[] = [];
  const summaries: RuleSummary[] = [];
  const formulaRules: { indexed: IndexedRuleOptions; summary: number }[] = [];
  for (const indexed of ruleOptions) {
    const { index, options: rule } = indexed;
    const report = reporterOf(index);
    const key = ruleKey(rule.id, rule.name);
    const owner = keyOwners.get(key);
    if (owner === undefined) keyOwners.set(key, indexed);
    const fn = rule.function;
    const isFormula = fn === "formula";
    const aggregate = fn === "formula" ? undefined : compileRule({ ...rule, function: fn }, options, report);
    if (owner !== undefined)
      report(
        rule.id === undefined ? "name" : "id",
        `${ruleLabel(owner.index, owner.options.name)} already has the key "${key}"; give one of them a different id`,
      );
    compiled.push(owner === undefined ? aggregate : undefined);
    if (isFormula && owner === undefined) formulaRules.push({ indexed, summary: summaries.length });
    summaries.push({
      index,
      name: rule.name,
      key,
      kind: fn === "formula" ? undefined : kindOfFunction(fn),
      captureNames: isFormula ? formulaCaptureNames(rule.name) : captureNamesOf(rule),
      isFormula,
      formula: isFormula && owner === undefined ? rule.formula : undefined,
    });
  }
  const formulas = compileFormulaRules(summaries, (index, field, problem) =>
    reporterOf(index)(field, problem),
  );
  for (const { indexed, summary } of formulaRules) {
    compiled[summary] = compileFormulaRule(
      indexed.options,
      formulas.get(indexed.index),
      options,
      reporterOf(indexed.index),
    );
  }
  return { rules: compiled.filter((rule) => rule !== undefined), problems };
}

/** A rule's options with its place in the list, for messages. */
export interface IndexedRuleOptions {
  readonly index: number;
  readonly options: RuleOptions;
  /** Fields left out because their values were wrong, which the schema's problems name already. */
  readonly omitted?: ReadonlySet<string>;
}

/** One problem of one field of the rule at `index`. */
export interface IndexedProblem {
  readonly index: number;
  readonly field: string;
  readonly problem: string;
}

/** Longest part of a rule's name quoted in a message; the index says which rule it is anyway. */
const LABEL_NAME_LENGTH = 60;

/** `rules[2] "Living room windows"`: the index, and the name a person recognises (escaped). */
export function ruleLabel(index: number, name: unknown): string {
  if (typeof name !== "string" || name.trim() === "") return `rules[${index}]`;
  const trimmed = name.trim();
  const shown = trimmed.length > LABEL_NAME_LENGTH ? `${trimmed.slice(0, LABEL_NAME_LENGTH - 1)}…` : trimmed;
  return `rules[${index}] ${JSON.stringify(shown)}`;
}

function kindOfFunction(fn: FunctionName): "boolean" | "number" {
  return isBinaryFunction(fn) ? "boolean" : "number";
}

/** A rule's named wildcards, from its first filter; undefined when its topic does not parse. */
function captureNamesOf(options: RuleOptions): readonly string[] | undefined {
  if (options.topic === undefined) return [];
  const filters = parseTopicList(topicText(options.topic));
  return filters.ok ? (filters.value.filters[0]?.captureNames ?? []) : undefined;
}

/** A formula rule fans out over the placeholders of its name, in the order they appear. */
function formulaCaptureNames(name: string): string[] {
  return [...new Set(placeholders(name))];
}

type Report = (field: string, problem: string) => void;

/** `topic` as a list of filters or as filters separated by commas. */
function topicText(topic: string | readonly string[]): string {
  return Array.isArray(topic) ? topic.join(", ") : (topic as string);
}

function compileRule(
  options: RuleOptions & { function: FunctionName },
  defaults: Pick<Options, "max_age" | "read_interval" | "max_sources">,
  reportProblem: Report,
): Rule | undefined {
  let problemCount = 0;
  const report = (field: string, problem: string) => {
    problemCount += 1;
    reportProblem(field, problem);
  };
  if (options.formula !== undefined)
    report("formula", `only function: formula takes a formula; ${options.function} reads topics`);
  if (options.topic === undefined) {
    report("topic", "required (the MQTT topic filter to read); only function: formula has none");
    return undefined;
  }
  const filters = parseTopicList(topicText(options.topic));
  if (!filters.ok) report("topic", filters.problem);
  const paths = options.value_path === undefined ? undefined : parseValuePaths(options.value_path);
  if (paths !== undefined && !paths.ok) report("value_path", paths.problem);
  const valuePaths = paths?.ok === true ? internPaths(paths.value) : NO_PATHS;
  const availability = availabilityOf(options.availability, report);

  const captureNames = filters.ok ? (filters.value.filters[0]?.captureNames ?? []) : [];
  const used = placeholders(options.name);
  // With a broken topic the wildcards are unknown; only the topic's problem is reported.
  for (const name of filters.ok ? used : []) {
    if (!captureNames.includes(name))
      report("name", `{${name}} is not a named wildcard of the topic (write +${name} in it)`);
  }
  for (const name of captureNames) {
    if (!used.includes(name))
      report("name", `must contain {${name}}, or every +${name} entity would have the same name`);
  }
  for (const name of filters.ok && options.device !== undefined ? placeholders(options.device) : []) {
    if (!captureNames.includes(name))
      report("device", `{${name}} is not a named wildcard of the topic (write +${name} in it)`);
  }

  const fn = options.function;
  checkPresentation(options, isBinaryFunction(fn), fn, report);
  if (options.on_value !== undefined && !usesOnValue(fn)) {
    report("on_value", `only all, any, none and count_on compare with on_value; ${fn} does not`);
  }
  const comparesOnValue = usesOnValue(fn);
  if (options.on_value !== undefined && options.on_value.split(",").every((value) => value.trim() === ""))
    report("on_value", "names no value; write one, or several separated by commas");
  for (const field of ["min_value", "max_value"] as const) {
    if (options[field] !== undefined && comparesOnValue)
      report(field, `${fn} compares readings with on_value; plausible ranges are for numeric functions`);
  }
  if (
    options.min_value !== undefined &&
    options.max_value !== undefined &&
    options.min_value > options.max_value
  )
    report("min_value", `is above max_value (${options.min_value} > ${options.max_value})`);
  const targetUnit = unitNamed(canonicalUnit(options.unit) ?? "");
  for (const path of valuePaths) {
    if (path.unit === undefined) continue;
    if (comparesOnValue)
      report("value_path", `"${path.text}": ${fn} compares with on_value, so a unit has no use`);
    else if (options.unit === undefined)
      report(
        "value_path",
        `"${path.text}" is in ${path.unit.symbol}: set the rule's unit, which readings are converted into`,
      );
    else if (targetUnit?.dimension !== path.unit.dimension)
      report(
        "value_path",
        `"${path.text}" is in ${path.unit.symbol}, which cannot be converted to ${options.unit}`,
      );
  }

  checkDelays(options, isBinaryFunction(fn), fn, report);
  const update = options.update ?? (comparesOnValue ? "change" : "interval");
  if (options.min_interval !== undefined && update !== "change")
    report("min_interval", "applies to rules with update: change; this rule is published at its interval");
  else if (options.min_interval !== undefined && comparesOnValue)
    report(
      "min_interval",
      `${fn} publishes each change at once; to wait, use delay_on and delay_off (all, any, none)`,
    );

  if (problemCount > 0 || !filters.ok || availability === undefined) return undefined;
  const deviceClass = options.device_class?.toLowerCase();
  return {
    key: ruleKey(options.id, options.name),
    nameTemplate: options.name,
    filters: filters.value.filters,
    exclusions: filters.value.exclusions,
    captureNames,
    function: fn,
    valuePaths,
    onValues: (options.on_value ?? DEFAULT_ON_VALUE)
      .split(",")
      .map((value) => value.trim())
      .filter((value) => value !== "")
      .map(onValueText),
    minInputs: options.min_inputs ?? 1,
    // Contact sensors and lights report only when they change: their last state holds until their
    // device says it is offline, unless the rule sets its own max_age.
    maxAgeMs:
      options.max_age !== undefined
        ? options.max_age * 1000
        : comparesOnValue
          ? Infinity
          : defaults.max_age * 1000,
    intervalMs: (options.interval ?? defaults.read_interval) * 1000,
    maxSources: defaults.max_sources,
    minValue: options.min_value,
    maxValue: options.max_value,
    targetUnit: comparesOnValue ? undefined : targetUnit,
    // A range or stdev of temperatures reads temperatures and yields a difference; other functions
    // under temperature_delta read differences, which convert by scale only.
    readsDifferences: deviceClass === "temperature_delta" && fn !== "range" && fn !== "stdev",
    availability,
    update,
    // A busy power meter on change must not flood the broker, nor Home Assistant's recorder.
    minIntervalMs: (options.min_interval ?? (comparesOnValue ? 0 : DEFAULT_MIN_INTERVAL_S)) * 1000,
    delayOnMs: (options.delay_on ?? 0) * 1000,
    delayOffMs: (options.delay_off ?? 0) * 1000,
    deviceTemplate: options.device,
    presentation: presentationOf(options),
  };
}

function presentationOf(options: RuleOptions): Presentation {
  // Home Assistant's device classes are lower case; "Temperature" means temperature.
  const deviceClass = options.device_class?.toLowerCase();
  const stateClass =
    options.state_class ??
    (COUNTING_FUNCTIONS.has(options.function) && stateClassProblem(deviceClass, "measurement") === undefined
      ? "measurement"
      : undefined);
  return { unit: options.unit, deviceClass, stateClass, precision: options.precision, icon: options.icon };
}

/**
 * What Home Assistant would refuse of a rule's unit, device class, state class and precision, for
 * a binary sensor or a sensor. `fn` says which function computes it, for the messages and the
 * checks that depend on it.
 */
function checkPresentation(
  options: RuleOptions,
  binary: boolean,
  fn: FunctionName | "formula",
  report: Report,
): void {
  if (binary) {
    const what = fn === "formula" ? "a true/false formula" : `function ${fn}`;
    if (options.unit !== undefined)
      report("unit", `${what} makes a binary sensor (on/off), which has no unit`);
    if (options.state_class !== undefined)
      report("state_class", `${what} makes a binary sensor, which has no state class`);
    if (options.precision !== undefined)
      report("precision", `${what} makes a binary sensor, which has no precision`);
    if (options.device_class !== undefined) {
      const problem = binarySensorDeviceClassProblem(options.device_class);
      if (problem !== undefined) report("device_class", problem);
    }
    return;
  }
  if (options.device_class !== undefined) {
    const problem = sensorDeviceClassProblem(options.device_class, options.unit);
    // A known class with a wrong unit is the unit's problem; an unknown class is the class's.
    const known = SENSOR_DEVICE_CLASSES.has(options.device_class.toLowerCase());
    if (problem !== undefined) report(known && options.unit !== undefined ? "unit" : "device_class", problem);
    if ((fn === "range" || fn === "stdev") && options.device_class.toLowerCase() === "temperature") {
      report(
        "device_class",
        `a ${fn} of temperatures is a difference: use temperature_delta, which Home Assistant converts between °C and °F as one`,
      );
    }
  }
  if (options.state_class !== undefined) {
    const problem =
      stateClassProblem(options.device_class, options.state_class) ??
      stateClassUnitProblem(options.state_class, options.unit);
    if (problem !== undefined) report("state_class", problem);
    // A formula goes unavailable, rather than drop, when a meter it adds up does.
    else if (options.state_class === "total_increasing" && fn !== "last" && fn !== "formula") {
      report(
        "state_class",
        `total_increasing suits one meter that only grows; a ${fn} of several can drop when one goes stale, which Home Assistant books as a meter reset: use total`,
      );
    }
  }
}

function checkDelays(
  options: RuleOptions,
  binary: boolean,
  fn: FunctionName | "formula",
  report: Report,
): void {
  const what = fn === "formula" ? "a numeric formula" : fn;
  for (const field of ["delay_on", "delay_off"] as const) {
    if (options[field] !== undefined && !binary)
      report(
        field,
        `${what} does not make a binary sensor; delays are for all, any, none and true/false formulas`,
      );
  }
}

/** Options that mean nothing to a formula rule, and why; a formula rule reads no topic. */
const NOT_FOR_FORMULAS = {
  topic: "a formula rule reads no topic: its formula uses the values of other rules",
  value_path: "a formula rule reads no payload: write what to compute in the formula",
  on_value:
    "a formula rule compares with nothing: write the comparison in the formula, such as windows_open == false",
  availability:
    "a formula rule has no devices: it is unavailable when a value it uses is (see available() and coalesce())",
  min_inputs: "a formula rule counts no inputs: available() and coalesce() say what it can do without",
  max_age: "a formula rule keeps no readings: the rules it uses apply their own max_age",
  min_value:
    "plausible ranges are for readings; a formula can clamp() its result or test it with a condition",
  max_value:
    "plausible ranges are for readings; a formula can clamp() its result or test it with a condition",
} as const;

function compileFormulaRule(
  options: RuleOptions,
  compiled: CompiledFormulaRule | undefined,
  defaults: Pick<Options, "read_interval">,
  reportProblem: Report,
): FormulaRule | undefined {
  let problemCount = 0;
  const report = (field: string, problem: string) => {
    problemCount += 1;
    reportProblem(field, problem);
  };
  if (options.formula === undefined)
    report(
      "formula",
      "required with function: formula, such as living_room_temperature - outside_temperature",
    );
  for (const [field, why] of Object.entries(NOT_FOR_FORMULAS))
    if (options[field as keyof typeof NOT_FOR_FORMULAS] !== undefined) report(field, why);
  // Without a compiled formula its kind is unknown, and so is which checks apply; its problems are reported.
  if (compiled === undefined) return undefined;
  const binary = compiled.formula.resultKind === "boolean";
  checkPresentation(options, binary, "formula", report);
  checkDelays(options, binary, "formula", report);
  const update = options.update ?? (binary ? "change" : "interval");
  if (options.min_interval !== undefined && update !== "change")
    report("min_interval", "applies to rules with update: change; this rule is published at its interval");
  if (problemCount > 0) return undefined;
  return {
    key: ruleKey(options.id, options.name),
    nameTemplate: options.name,
    captureNames: formulaCaptureNames(options.name),
    function: "formula",
    formula: compiled.formula,
    references: compiled.references,
    intervalMs: (options.interval ?? defaults.read_interval) * 1000,
    update,
    minIntervalMs: (options.min_interval ?? (binary ? 0 : DEFAULT_MIN_INTERVAL_S)) * 1000,
    delayOnMs: (options.delay_on ?? 0) * 1000,
    delayOffMs: (options.delay_off ?? 0) * 1000,
    deviceTemplate: options.device,
    presentation: presentationOf(options),
  };
}

const NO_PATHS: readonly ValuePath[] = Object.freeze([]);
/** One array per distinct `value_path`, so that rules sharing it share its readings at a read. */
const internedPaths = new Map<string, readonly ValuePath[]>();

function internPaths(paths: readonly ValuePath[]): readonly ValuePath[] {
  const key = JSON.stringify(paths.map((path) => [path.text, path.unit?.symbol, path.excludes]));
  const known = internedPaths.get(key);
  if (known !== undefined) return known;
  const frozen = Object.freeze([...paths]);
  internedPaths.set(key, frozen);
  return frozen;
}

function availabilityOf(
  text: string | undefined,
  report: (field: string, problem: string) => void,
): AvailabilitySetting | undefined {
  if (text === undefined || text === "auto") return { kind: "auto" };
  if (text === "off") return { kind: "off" };
  const parsed = parseAvailabilityPattern(text);
  if (parsed.ok) return { kind: "pattern", text, parts: parsed.parts };
  report("availability", `${parsed.problem}; or write auto (the default) or off`);
  return undefined;
}
