import type { DerivedValue, SourceStatus } from "../core/derived-value.js";
import { isFormulaRule, type ConfiguredRule } from "../core/rule.js";
import type { TrialResult } from "../core/rule-trial.js";
import { formatState } from "../homeassistant/discovery-payloads.js";
import type { EntityView, RuleView, SourceView, TrialMatchView } from "./wire.js";

/** Longer text values are shortened on the page: the raw payload is there on demand. */
const SHOWN_TEXT_CHARS = 200;

export function ruleView(rule: ConfiguredRule): RuleView {
  if (isFormulaRule(rule)) {
    return {
      key: rule.key,
      name: rule.nameTemplate,
      function: "formula",
      topics: [],
      formula: rule.formula.text,
      valuePath: undefined,
      unit: rule.presentation.unit,
      intervalSeconds: rule.intervalMs / 1000,
      maxAgeSeconds: undefined,
      minInputs: 1,
      fansOut: rule.captureNames.length > 0,
    };
  }
  const valuePath = rule.valuePaths.map((path) => `${path.excludes ? "!" : ""}${path.text}`).join(", ");
  return {
    key: rule.key,
    name: rule.nameTemplate,
    function: rule.function,
    topics: [
      ...rule.filters.map((filter) => filter.text),
      ...rule.exclusions.map((filter) => `!${filter.text}`),
    ],
    formula: undefined,
    valuePath: valuePath === "" ? undefined : valuePath,
    unit: rule.presentation.unit,
    intervalSeconds: rule.intervalMs / 1000,
    maxAgeSeconds: Number.isFinite(rule.maxAgeMs) ? rule.maxAgeMs / 1000 : undefined,
    minInputs: rule.minInputs,
    fansOut: rule.captureNames.length > 0,
  };
}

/** `value` as the status page shows it; `rule` is the rule that computed it. */
export function entityView(
  value: DerivedValue,
  rule: ConfiguredRule | undefined,
  readAt: number,
): EntityView {
  const { state, counts } = value;
  const listed = value.sources.length;
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
  return {
    key: value.identity.entityKey,
    rule: value.identity.ruleKey,
    name: value.identity.name,
    state: state.kind === "none" ? undefined : formatState(state, rule?.presentation.precision),
    unit: rule?.presentation.unit,
    unavailableBecause: state.kind === "none" ? state.reason : undefined,
    inputs: value.inputs,
    counts,
    leftOut: value.leftOut,
    readAt,
    sources: value.sources.map(sourceView),
    complete: listed >= total,
  };
}

function sourceView(status: SourceStatus): SourceView {
  return {
    source: status.source,
    topic: status.topic,
    state: status.state,
    value: shownValue(status.value),
    reason: status.reason,
    receivedAt: status.receivedAt,
  };
}

export function shownValue(value: number | string | boolean | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return String(Number(value.toPrecision(12)));
  if (typeof value === "boolean") return value ? "true" : "false";
  return value.length > SHOWN_TEXT_CHARS ? `${value.slice(0, SHOWN_TEXT_CHARS - 1)}…` : value;
}

export function trialMatchViews(result: Extract<TrialResult, { ok: true }>): TrialMatchView[] {
  return result.matches.map((match) => ({
    topic: match.topic,
    captures: match.captures,
    receivedAt: match.receivedAt,
    skipped: match.skipped,
    leftOut: match.leftOut,
    readings: match.readings.map((reading) => ({
      source: reading.source,
      kind: reading.kind,
      value: shownValue(reading.value),
      unit: reading.unit,
      why: reading.why,
    })),
  }));
}
