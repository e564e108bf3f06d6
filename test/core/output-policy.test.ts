import { describe, expect, it } from "vitest";
import { OutputPolicy } from "../../src/core/output-policy.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import type { Rule } from "../../src/core/rule.js";
import { compileOne, readOne } from "../support/rules.js";

const T0 = 1_000_000;
const SECOND = 1_000;

/** Computes the rule's entity at `now` from the windows' payloads, and lets the policy decide. */
function harness(rule: Rule) {
  const store = new ReadingsStore([rule]);
  const policy = new OutputPolicy();
  return {
    set(topic: string, payload: string, now: number) {
      store.ingest(topic, payload, now);
    },
    decide(now: number, trigger: "change" | "interval" = "change") {
      return policy.decide(readOne(store, now), rule, now, trigger);
    },
  };
}

const windows = (extra: Record<string, unknown> = {}) =>
  compileOne({
    name: "Windows",
    topic: "w/+",
    function: "any",
    on_value: "open",
    device_class: "window",
    ...extra,
  });

describe("delay_off and delay_on", () => {
  it("holds ON for delay_off after the last window closed, and cancels when one reopens", () => {
    const room = harness(windows({ delay_off: 300 }));
    room.set("w/a", "open", T0);
    expect(room.decide(T0).output?.value.state).toEqual({ kind: "binary", on: true });

    room.set("w/a", "closed", T0 + 10 * SECOND);
    const held = room.decide(T0 + 10 * SECOND);
    expect(held.output?.value.state).toEqual({ kind: "binary", on: true });
    expect(held.output?.pending).toEqual({ on: false, at: T0 + 310 * SECOND });
    expect(held.wakeAt).toBe(T0 + 310 * SECOND);
    expect(room.decide(T0 + 309 * SECOND).output?.value.state).toEqual({ kind: "binary", on: true });

    // Reopened within the delay: the pending OFF is cancelled.
    room.set("w/a", "open", T0 + 200 * SECOND);
    const reopened = room.decide(T0 + 200 * SECOND);
    expect(reopened.output?.pending).toBeUndefined();
    room.set("w/a", "closed", T0 + 250 * SECOND);
    expect(room.decide(T0 + 250 * SECOND).output?.pending).toEqual({ on: false, at: T0 + 550 * SECOND });
    expect(room.decide(T0 + 400 * SECOND).output?.value.state).toEqual({ kind: "binary", on: true });
    const off = room.decide(T0 + 550 * SECOND);
    expect(off.output?.value.state).toEqual({ kind: "binary", on: false });
    expect(off.output?.pending).toBeUndefined();
  });

  it("turns on only after delay_on of on, and shows the first state at once", () => {
    const room = harness(windows({ delay_on: 60 }));
    room.set("w/a", "closed", T0);
    expect(room.decide(T0).output?.value.state).toEqual({ kind: "binary", on: false });
    room.set("w/a", "open", T0 + SECOND);
    expect(room.decide(T0 + SECOND).output?.value.state).toEqual({ kind: "binary", on: false });
    expect(room.decide(T0 + 61 * SECOND).output?.value.state).toEqual({ kind: "binary", on: true });
  });
});

describe("min_interval", () => {
  it("holds a numeric entity on change back until min_interval has passed, but not at its read interval", () => {
    const rule = compileOne({
      name: "Power",
      topic: "p/+",
      function: "sum",
      update: "change",
      min_interval: 5,
    });
    const meter = harness(rule);
    meter.set("p/a", "100", T0);
    expect(meter.decide(T0).output).toBeDefined();
    meter.set("p/a", "101", T0 + SECOND);
    const held = meter.decide(T0 + SECOND);
    expect(held.output).toBeUndefined();
    expect(held.wakeAt).toBe(T0 + 5 * SECOND);
    expect(meter.decide(T0 + 5 * SECOND).output?.value.state).toEqual({ kind: "number", value: 101 });
    expect(meter.decide(T0 + 6 * SECOND, "interval").output).toBeDefined();
  });

  it("wakes when a counted reading goes stale, so that an entity on change notices without a message", () => {
    const rule = compileOne({ name: "T", topic: "t/+", function: "mean", update: "change", max_age: 60 });
    const room = harness(rule);
    room.set("t/a", "20", T0);
    expect(room.decide(T0).wakeAt).toBe(T0 + 60 * SECOND + 1);
  });
});

describe("change marking", () => {
  it("marks only entities of rules on change, once however many messages", () => {
    const store = new ReadingsStore([
      windows(),
      compileOne({ name: "Mean", topic: "w/+", function: "mean" }),
    ]);
    for (let index = 0; index < 1_000; index += 1)
      store.ingest("w/a", index % 2 === 0 ? "open" : "closed", T0 + index);
    expect(store.hasChanges).toBe(true);
    expect(store.readChanged(T0 + 1_000).values.map((value) => value.identity.entityKey)).toEqual([
      "windows",
    ]);
    expect(store.hasChanges).toBe(false);
  });

  it("marks the entities of a device's sources when its availability changes", () => {
    const store = new ReadingsStore([
      windows({ topic: "zigbee2mqtt/+", value_path: "contact", on_value: "false" }),
    ]);
    store.ingest("zigbee2mqtt/w", JSON.stringify({ contact: false }), T0);
    store.ingest("zigbee2mqtt/w/availability", "online", T0);
    store.readChanged(T0);
    store.ingest("zigbee2mqtt/w/availability", "offline", T0 + 1);
    expect(store.hasChanges).toBe(true);
    expect(store.readChanged(T0 + 2).values[0]?.state.kind).toBe("none");
  });
});

describe("min_interval, before computing", () => {
  it("says until when a numeric entity is held back, and the store leaves it uncomputed until then", () => {
    const rule = compileOne({
      name: "Power",
      topic: "p/+",
      function: "sum",
      update: "change",
      min_interval: 10,
    });
    const store = new ReadingsStore([rule]);
    const policy = new OutputPolicy();
    const heldAt = (now: number) => (identity: { entityKey: string }) =>
      policy.heldUntil(identity.entityKey, rule, now) !== undefined;
    store.ingest("p/a", "5", T0);
    const [first] = store.readChanged(T0, undefined, heldAt(T0)).values;
    if (first === undefined) throw new Error("no value");
    expect(policy.decide(first, rule, T0, "change").output?.value.state).toEqual({
      kind: "number",
      value: 5,
    });
    expect(policy.heldUntil("power", rule, T0 + SECOND)).toBe(T0 + 10 * SECOND);

    store.ingest("p/a", "6", T0 + SECOND);
    expect(store.readChanged(T0 + SECOND, undefined, heldAt(T0 + SECOND)).values).toEqual([]);
    expect(store.hasChanges).toBe(false);

    expect(policy.heldUntil("power", rule, T0 + 10 * SECOND)).toBeUndefined();
    store.markEntityChanged("power");
    const [later] = store.readChanged(T0 + 10 * SECOND, undefined, heldAt(T0 + 10 * SECOND)).values;
    expect(later?.state).toEqual({ kind: "number", value: 6 });
  });

  it("never holds back a binary entity", () => {
    const rule = windows();
    const policy = new OutputPolicy();
    const store = new ReadingsStore([rule]);
    store.ingest("w/a", "open", T0);
    policy.decide(readOne(store, T0), rule, T0, "change");
    expect(policy.heldUntil("windows", rule, T0 + 1)).toBeUndefined();
  });
});
