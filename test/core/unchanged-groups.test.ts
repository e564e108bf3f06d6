import { describe, expect, it } from "vitest";
import type { DerivedValue } from "../../src/core/derived-value.js";
import { readAtOnce } from "../../src/core/read-job.js";
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

/** A read as the add-on's after the first: entities whose inputs did not change are left out. */
function readChangedOnly(readings: ReadingsStore, now: number): DerivedValue[] {
  return readAtOnce(readings.beginRead(now, undefined, undefined, { onlyChanged: true })).values;
}

function store(): ReadingsStore {
  const made = new ReadingsStore(rules);
  made.ingest("zigbee2mqtt/kitchen/a", '{"temperature":20}', T0);
  made.ingest("zigbee2mqtt/kitchen/b", '{"temperature":22}', T0);
  made.ingest("zigbee2mqtt/hall/a", '{"temperature":18}', T0);
  return made;
}

describe("a read of what changed", () => {
  it("leaves out a group with no message since it was computed, and computes the others", () => {
    const readings = store();
    readChangedOnly(readings, T0 + 1_000);
    readings.ingest("zigbee2mqtt/hall/a", '{"temperature":19}', T0 + 2_000);
    const second = readChangedOnly(readings, T0 + 3_000);
    expect(room(second, "kitchen")).toBeUndefined();
    expect(numberOf(room(second, "hall"))).toBe(19);
    expect(readChangedOnly(readings, T0 + 4_000)).toEqual([]);
    // A read of everything still gives everything, and leaves what the next read of changes sees alone.
    expect(readings.read(T0 + 5_000).values).toHaveLength(2);
    readings.ingest("zigbee2mqtt/hall/a", '{"temperature":17}', T0 + 5_500);
    readings.read(T0 + 6_000);
    expect(readChangedOnly(readings, T0 + 7_000).map((value) => numberOf(value))).toEqual([17]);
  });

  it("computes a group again when one of its readings has gone stale since", () => {
    const readings = store();
    readChangedOnly(readings, T0 + 1_000);
    expect(readChangedOnly(readings, T0 + 59_000)).toEqual([]);
    const later = room(readChangedOnly(readings, T0 + 61_000), "kitchen");
    expect(later?.state.kind).toBe("none");
    expect(later?.counts.stale).toBe(2);
    expect(readChangedOnly(readings, T0 + 62_000)).toEqual([]);
  });

  it("computes a group again when a source joins it, or its device speaks", () => {
    const readings = store();
    readings.ingest("zigbee2mqtt/kitchen/b/availability", "online", T0);
    readChangedOnly(readings, T0 + 1_000);
    readings.ingest("zigbee2mqtt/kitchen/c", '{"temperature":30}', T0 + 1_500);
    expect(numberOf(room(readChangedOnly(readings, T0 + 2_000), "kitchen"))).toBe(24);
    readings.ingest("zigbee2mqtt/kitchen/b/availability", "offline", T0 + 2_500);
    const offline = room(readChangedOnly(readings, T0 + 3_000), "kitchen");
    expect(numberOf(offline)).toBe(25);
    expect(offline?.counts.offline).toBe(1);
  });

  it("counts a flush of changes as a computation: what it computed is not read again", () => {
    const [rule] = compile([
      { name: "Open {room}", topic: "w/+room/+", function: "any", on_value: "open", update: "change" },
    ]);
    if (rule === undefined) throw new Error("no rule");
    const readings = new ReadingsStore([rule]);
    readings.ingest("w/hall/a", "open", T0);
    readChangedOnly(readings, T0 + 1);
    readings.ingest("w/hall/a", "closed", T0 + 2);
    expect(readings.readChanged(T0 + 3).values).toHaveLength(1);
    expect(readChangedOnly(readings, T0 + 4)).toEqual([]);
  });

  it("leaves what the next read of changes sees alone when a read of everything comes between", () => {
    const readings = new ReadingsStore(
      compile([{ name: "Max {room}", topic: "home/+room/+", function: "max" }], { max_sources: 3 }),
    );
    readings.ingest("home/k/a", "50", T0);
    readings.ingest("home/k/b", "10", T0 + 1);
    readings.ingest("home/h/c", "10", T0 + 2);
    readChangedOnly(readings, T0 + 10);
    readings.ingest("home/h/d", "10", T0 + 20); // drops home/k/a, the least recently updated
    readings.read(T0 + 30);
    const kitchen = room(readChangedOnly(readings, T0 + 40), "k");
    expect(numberOf(kitchen)).toBe(10);
  });
});
