/**
 * The attributes are built for speed (objects without a prototype, keys assigned in order); what
 * they say must stay exactly what the straightforward object and JSON.stringify said, byte for
 * byte, since Home Assistant's recorder stores a new row whenever the text changes.
 */
import { describe, expect, it } from "vitest";
import type { DerivedValue, SourceState, SourceStatus } from "../../src/core/derived-value.js";
import { identify } from "../../src/core/entity-group.js";
import { isFormulaRule, type ConfiguredRule } from "../../src/core/rule.js";
import { attributesOf, type PendingState } from "../../src/homeassistant/discovery-payloads.js";
import { compileAll } from "../support/rules.js";

/** The attributes as 0.2.0 built them: the reference. */
function referenceAttributes(rule: ConfiguredRule, derived: DerivedValue, pending?: PendingState): string {
  const shorten = (name: string) => (name.length > 120 ? `${name.slice(0, 119)}…` : name);
  const why = (status: SourceStatus) => {
    switch (status.state) {
      case "stale":
        return "stale";
      case "offline":
        return `offline: ${status.reason ?? ""}`;
      case "out_of_range":
        return `out of range: ${status.reason ?? ""}`;
      case "unavailable":
        return `unavailable: ${status.reason ?? ""}`;
      default:
        return `unusable: ${status.reason ?? ""}`;
    }
  };
  const sources: Record<string, SourceStatus["value"]> = {};
  const notCounted: Record<string, string> = {};
  for (const status of derived.sources) {
    const name = shorten(status.source);
    if (status.state === "counted") sources[name] = status.value;
    else notCounted[name] = why(status);
  }
  const { counts } = derived;
  return JSON.stringify({
    function: rule.function,
    ...(isFormulaRule(rule) ? { formula: rule.formula.text } : {}),
    inputs: derived.inputs,
    sources,
    not_counted: notCounted,
    counted_count: counts.counted,
    not_counted_count:
      counts.stale + counts.offline + counts.unusable + counts.out_of_range + counts.unavailable,
    ...(derived.leftOut > 0 ? { left_out: derived.leftOut } : {}),
    ...(derived.state.kind === "none" ? { unavailable_because: derived.state.reason } : {}),
    ...(pending === undefined
      ? {}
      : { pending: { state: pending.on ? "ON" : "OFF", at: pending.at.toISOString() } }),
  });
}

const [MEAN, FORMULA] = compileAll([
  { name: "Mean", topic: "home/+/temperature", function: "mean" },
  { name: "Difference", function: "formula", formula: "mean - 1" },
]) as [ConfiguredRule, ConfiguredRule];

/** Names an object treats specially, or that take care to write as JSON. */
const AWKWARD_NAMES = [
  "home/kitchen/temperature",
  "42",
  "0",
  "4294967294",
  "4294967295",
  "007",
  "-1",
  "1.5",
  "__proto__",
  "constructor",
  "toJSON",
  "hasOwnProperty",
  'quote"and\\backslash',
  "line\nbreak\u0001",
  "emoji 🌡️ and lone \ud800 surrogate",
  "",
  `${"x".repeat(130)}a`,
  `${"x".repeat(130)}b`,
  "home/kitchen/temperature#DS18B20-1",
];

const STATES: readonly SourceState[] = [
  "counted",
  "stale",
  "offline",
  "unusable",
  "out_of_range",
  "unavailable",
];
const VALUES: readonly SourceStatus["value"][] = [
  21.5,
  -0,
  0.1 + 0.2,
  1e21,
  Number.NaN,
  "on",
  'a"b',
  true,
  false,
  undefined,
];

/** A small deterministic generator, so that a failure can be reproduced. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

function derivedOf(next: () => number): DerivedValue {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const sources: SourceStatus[] = Array.from({ length: Math.floor(next() * 12) }, () => ({
    source: next() < 0.5 ? pick(AWKWARD_NAMES) : `home/room${Math.floor(next() * 5)}/temperature`,
    topic: "home/x",
    state: pick(STATES),
    value: pick(VALUES),
    reason: next() < 0.2 ? undefined : pick(["tele/x/LWT says offline", 'not a "number"', "below 0"]),
    receivedAt: 0,
  }));
  const count = () => Math.floor(next() * 4);
  const identity = identify(MEAN, [], () => false);
  return {
    identity,
    state:
      next() < 0.3
        ? { kind: "none", reason: pick(["no source has a value", 'needs "2"'] as const) }
        : { kind: "number", value: next() * 30 },
    inputs: count(),
    sources,
    counts: {
      counted: count(),
      stale: count(),
      offline: count(),
      unusable: count(),
      out_of_range: count(),
      no_value: count(),
      unavailable: count(),
    },
    leftOut: next() < 0.3 ? count() : 0,
    changesAt: undefined,
  };
}

describe("entity attributes", () => {
  it("are byte for byte what an object and JSON.stringify make of them, for awkward names too", () => {
    const next = random(7);
    for (let round = 0; round < 3_000; round++) {
      const rule = next() < 0.5 ? MEAN : FORMULA;
      const derived = derivedOf(next);
      const pending =
        next() < 0.3 ? { on: next() < 0.5, at: new Date(1_700_000_000_000 + round) } : undefined;
      expect(attributesOf(rule, derived, pending)).toBe(referenceAttributes(rule, derived, pending));
    }
  });

  it("keep the order of index-like names an object gives them, and drop __proto__", () => {
    const derived = derivedOf(random(1));
    const statuses: SourceStatus[] = ["b", "10", "__proto__", "2", "a", "2"].map((source, index) => ({
      source,
      topic: source,
      state: "counted",
      value: index,
      reason: undefined,
      receivedAt: 0,
    }));
    const text = attributesOf(MEAN, { ...derived, sources: statuses });
    expect(text).toBe(referenceAttributes(MEAN, { ...derived, sources: statuses }));
    expect(text).toContain('"sources":{"2":5,"10":1,"b":0,"a":4}');
  });
});
