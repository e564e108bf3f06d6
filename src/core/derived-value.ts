import { applyBinary, applyNumeric, isBinaryFunction, type TimedNumber } from "./aggregate-functions.js";
import type { EntityGroup, EntityIdentity } from "./entity-group.js";
import { comparableText } from "./reading-value.js";

export type DerivedState =
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "binary"; readonly on: boolean }
  /** Too few fresh inputs, or a result that is not a finite number: shown as unavailable, never as 0. */
  | { readonly kind: "none"; readonly reason: string };

/** A derived value and what produced it, as shown in the entity's attributes. */
export interface DerivedValue {
  readonly identity: EntityIdentity;
  readonly state: DerivedState;
  readonly inputs: number;
  readonly fresh: readonly string[];
  readonly stale: readonly string[];
  readonly unusable: readonly string[];
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
  const binary = isBinaryFunction(rule.function);
  const countsOn = rule.function === "count_on";
  const numbers: TimedNumber[] = [];
  const matches: boolean[] = [];
  const fresh: string[] = [];
  const stale: string[] = [];
  const unusable: string[] = [];
  const seenUnusable = new Set<string>();

  for (const topic of group.topics.values()) {
    if (topic.payload === undefined || now - topic.receivedAt > rule.maxAgeMs) {
      stale.push(topic.topic);
      continue;
    }
    for (const reading of topic.readingsFor(rule.valuePath)) {
      const source = reading.key === undefined ? topic.topic : `${topic.topic}#${reading.key}`;
      const value = reading.value;
      let why: string | undefined;
      if (value.kind === "absent") continue;
      if (value.kind === "unusable") {
        why = value.why;
      } else if (binary || countsOn) {
        const text = comparableText(value);
        if (text === undefined) why = "not comparable with on_value";
        else matches.push(text === rule.onValue);
      } else if (value.kind === "number") {
        numbers.push({ value: value.value, receivedAt: topic.receivedAt });
      } else {
        why = `"${truncate(value.kind === "text" ? value.value : String(value.value))}" is not a number`;
      }
      if (why === undefined) {
        fresh.push(source);
        group.unusableVersions.delete(source);
        continue;
      }
      unusable.push(source);
      seenUnusable.add(source);
      const counted = group.unusableVersions.get(source);
      if (counted !== topic.version) {
        group.ignoredTotal += 1;
        if (counted === undefined) onUnusable({ identity: group.identity, source, why });
        group.unusableVersions.set(source, topic.version);
      }
    }
  }
  // A source that is gone or fine again may warn again the next time it turns bad.
  for (const source of group.unusableVersions.keys()) {
    if (!seenUnusable.has(source)) group.unusableVersions.delete(source);
  }

  const inputs = binary || countsOn ? matches.length : numbers.length;
  return {
    identity: group.identity,
    state: stateOf(group, inputs, numbers, matches),
    inputs,
    fresh,
    stale,
    unusable,
    ignoredTotal: group.ignoredTotal,
  };
}

function stateOf(
  group: EntityGroup,
  inputs: number,
  numbers: readonly TimedNumber[],
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
  const value = fn === "count_on" ? matches.filter(Boolean).length : applyNumeric(fn, numbers);
  // A sum of readings near 1e308 overflows; publishing "inf" would poison Home Assistant's history.
  if (!Number.isFinite(value)) return { kind: "none", reason: "the result is out of range" };
  return { kind: "number", value: value === 0 ? 0 : value };
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
