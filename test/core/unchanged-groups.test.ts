import { describe, expect, it } from "vitest";
import type { DerivedValue } from "../../src/core/derived-value.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { compile } from "../support/rules.js";

const T0 = 1_700_000_000_000;

function room(values: readonly DerivedValue[], name: string): DerivedValue | undefined {
  return values.find((value) => value.identity.captures["room"] === name);
}

function numberOf(value: DerivedValue | undefined): number | undefined {
  return value?.state.kind === "number" ? value.state.value : undefined;
}

const rules = compile([
  {
    name: "Temperature {room}",
    topic: "zigbee2mqtt/+room/+",
    value_path: "temperature",
    function: "mean",
    max_age: 60,
  },
]);

function store(): ReadingsStore {
  const made = new ReadingsStore(rules);
  made.ingest("zigbee2mqtt/kitchen/a", '{"temperature":20}', T0);
  made.ingest("zigbee2mqtt/kitchen/b", '{"temperature":22}', T0);
  made.ingest("zigbee2mqtt/hall/a", '{"temperature":18}', T0);
  return made;
}

describe("a read keeps what did not change", () => {
  it("gives a group with no message since its last read the same value, and computes the others", () => {
    const readings = store();
    const first = readings.read(T0 + 1_000).values;
    readings.ingest("zigbee2mqtt/hall/a", '{"temperature":19}', T0 + 2_000);
    const second = readings.read(T0 + 3_000).values;
    expect(room(second, "kitchen")).toBe(room(first, "kitchen"));
    expect(room(second, "hall")).not.toBe(room(first, "hall"));
    expect(numberOf(room(second, "hall"))).toBe(19);
  });

  it("computes a group again when one of its readings has gone stale since", () => {
    const readings = store();
    readings.read(T0 + 1_000);
    expect(numberOf(room(readings.read(T0 + 59_000).values, "kitchen"))).toBe(21);
    const later = room(readings.read(T0 + 61_000).values, "kitchen");
    expect(later?.state.kind).toBe("none");
    expect(later?.counts.stale).toBe(2);
  });

  it("computes a group again when a source joins it, or its device speaks", () => {
    const readings = store();
    readings.ingest("zigbee2mqtt/kitchen/b/availability", "online", T0);
    readings.read(T0 + 1_000);
    readings.ingest("zigbee2mqtt/kitchen/c", '{"temperature":30}', T0 + 1_500);
    expect(numberOf(room(readings.read(T0 + 2_000).values, "kitchen"))).toBe(24);
    readings.ingest("zigbee2mqtt/kitchen/b/availability", "offline", T0 + 2_500);
    const offline = room(readings.read(T0 + 3_000).values, "kitchen");
    expect(numberOf(offline)).toBe(25);
    expect(offline?.counts.offline).toBe(1);
  });

  it("lists sources anew for a read that asks for a longer list", () => {
    const readings = store();
    const first = room(readings.read(T0 + 1_000).values, "kitchen");
    const longer = room(readings.read(T0 + 1_000, undefined, 500).values, "kitchen");
    expect(longer).not.toBe(first);
    expect(longer?.sources).toEqual(first?.sources);
  });
});
