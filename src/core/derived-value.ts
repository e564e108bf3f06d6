import { applyBinary, applyNumeric, isBinaryFunction } from "./aggregate-functions.js";
import type { EntityGroup, EntityIdentity } from "./entity-group.js";
import { comparableText } from "./reading-value.js";

export type DerivedState =
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "binary"; readonly on: boolean }
  /** Too few fresh inputs, or a result that is not a finite number: shown as unavailable, never as 0. */
  | { readonly kind: "none"; readonly reason: string };

/**
 * Sources listed by name per kind; the counts are always whole. A group of thousands of topics
 * would otherwise build lists nobody reads (Home Assistant's recorder drops attributes over 16 KB).
 */
export const LISTED_SOURCES = 50;

/** A derived value and what produced it, as shown in the entity's attributes. */
export interface DerivedValue {
  readonly identity: EntityIdentity;
  readonly state: DerivedState;
  readonly inputs: number;
  /** The first LISTED_SOURCES sources of each kind; the counts say how many there are. */
  readonly fresh: readonly string[];
  readonly stale: readonly string[];
  readonly unusable: readonly string[];
  readonly freshCount: number;
  readonly staleCount: number;
  readonly unusableCount: number;
  readonly ignoredTotal: number;
}

/** A source whose payload became unusable at this read, for a warning in the log. */
export interface UnusableSource {
  readonly identity: EntityIdentity;
  readonly source: string;
  readonly why: string;
}

export function deriveGroup(
  group: EntityGroup,
  now: number,
  onUnusable: (found: UnusableSource) => void,
): DerivedValue {
  const rule = group.rule;
  const comparesOnValue = isBinaryFunction(rule.function) || rule.function === "count_on";
  // Plain numbers and booleans, not objects per input: a read may look at 100,000 inputs.
  const numbers: number[] = [];
  const matches: boolean[] = [];
  let latestValue = 0;
  let latestAt = Number.NEGATIVE_INFINITY;
  const fresh: string[] = [];
  const stale: string[] = [];
  const unusable: string[] = [];
  let freshCount = 0;
  let staleCount = 0;
  let seenUnusable: Set<string> | undefined;

  for (const topic of group.topics.values()) {
    if (topic.payload === undefined || now - topic.receivedAt > rule.maxAgeMs) {
      if (staleCount++ < LISTED_SOURCES) stale.push(topic.topic);
      continue;
    }
    for (const { source, value } of topic.readingsFor(rule.valuePath)) {
      let why: string | undefined;
      if (value.kind === "absent") continue;
      if (value.kind === "unusable") {
        why = value.why;
      } else if (comparesOnValue) {
        const text = comparableText(value);
        if (text === undefined) why = "not comparable with on_value";
        else matches.push(text === rule.onValue);
      } else if (value.kind === "number") {
        numbers.push(value.value);
        if (topic.receivedAt >= latestAt) {
          latestAt = topic.receivedAt;
          latestValue = value.value;
        }
      } else {
        why = `"${truncate(value.kind === "text" ? value.value : String(value.value))}" is not a number`;
      }
      if (why === undefined) {
        if (freshCount++ < LISTED_SOURCES) fresh.push(source);
        continue;
      }
      (seenUnusable ??= new Set()).add(source);
      if (unusable.length < LISTED_SOURCES) unusable.push(source);
      const counted = group.unusableVersions.get(source);
      if (counted !== topic.version) {
        group.ignoredTotal += 1;
        if (counted === undefined) onUnusable({ identity: group.identity, source, why });
        group.unusableVersions.set(source, topic.version);
      }
    }
  }
  // A source that is gone or fine again may warn again the next time it turns bad.
  if (group.unusableVersions.size > 0) {
    for (const source of group.unusableVersions.keys()) {
      if (seenUnusable?.has(source) !== true) group.unusableVersions.delete(source);
    }
  }

  const inputs = comparesOnValue ? matches.length : numbers.length;
  return {
    identity: group.identity,
    state: stateOf(group, inputs, numbers, latestValue, matches),
    inputs,
    fresh,
    stale,
    unusable,
    freshCount,
    staleCount,
    unusableCount: seenUnusable?.size ?? 0,
    ignoredTotal: group.ignoredTotal,
  };
}

function stateOf(
  group: EntityGroup,
  inputs: number,
  numbers: readonly number[],
  latest: number,
  matches: readonly boolean[],
): DerivedState {
  const rule = group.rule;
  if (inputs === 0 || inputs < rule.minInputs) {
    return {
      kind: "none",
      reason: `${inputs} fresh input${inputs === 1 ? "" : "s"}, needs ${rule.minInputs}`,
    };
  }
  const fn = rule.function;
  if (isBinaryFunction(fn)) return { kind: "binary", on: applyBinary(fn, matches) };
  let value: number;
  if (fn === "count_on") value = matches.filter(Boolean).length;
  else if (fn === "last") value = latest;
  else value = applyNumeric(fn, numbers);
  // A sum of readings near 1e308 overflows; publishing "inf" would poison Home Assistant's history.
  if (!Number.isFinite(value)) return { kind: "none", reason: "the result is out of range" };
  return { kind: "number", value: value === 0 ? 0 : value };
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
