import { describe, expect, it } from "vitest";
import type { DerivedValue } from "../../src/core/derived-value.js";
import { Evaluation } from "../../src/core/evaluation.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { attributesOf } from "../../src/homeassistant/discovery-payloads.js";
import { compileAll, numberOf, onOf, type RuleJson } from "../support/rules.js";

const T0 = 1_700_000_000_000;
const MINUTE = 60_000;

const LIVING_ROOM = {
  name: "Living room temperature",
  topic: "zigbee2mqtt/living_room/+",
  value_path: "temperature",
  function: "mean",
  unit: "°C",
  max_age: 600,
};
const OUTSIDE = {
  name: "Outside temperature",
  topic: "tele/garden/SENSOR",
  value_path: "*.Temperature",
  function: "mean",
};
const WINDOWS = {
  name: "Windows",
  topic: "zigbee2mqtt/window/+",
  value_path: "contact",
  function: "any",
  on_value: "false",
};
const ROOM_TEMPERATURE = {
  name: "{room} temperature",
  topic: "home/+room/climate",
  value_path: "temperature",
  function: "mean",
};
const ROOM_HUMIDITY = {
  name: "{room} humidity",
  topic: "home/+room/climate",
  value_path: "humidity",
  function: "mean",
};
const formula = (name: string, text: string, fields: RuleJson = {}): RuleJson => ({
  name,
  function: "formula",
  formula: text,
  ...fields,
});

function evaluationOf(rules: readonly RuleJson[]): Evaluation {
  const compiled = compileAll(rules);
  return new Evaluation(new ReadingsStore(compiled), compiled);
}

const byKey = (values: readonly DerivedValue[]) =>
  new Map(values.map((value) => [value.identity.entityKey, value]));
const keysOf = (values: readonly DerivedValue[]) => values.map((value) => value.identity.entityKey);
const reasonOf = (value: DerivedValue | undefined) =>
  value?.state.kind === "none" ? value.state.reason : undefined;
const climate = (temperature: number, humidity: number) => JSON.stringify({ temperature, humidity });

describe("formula rules at a read", () => {
  it("are computed after the rules they use, formulas over formulas included, in one read", () => {
    const evaluation = evaluationOf([
      formula("Much warmer", "difference > 10"),
      LIVING_ROOM,
      formula("Difference", "living_room_temperature - outside_temperature"),
      OUTSIDE,
    ]);
    evaluation.store.ingest("zigbee2mqtt/living_room/climate", climate(21, 40), T0);
    evaluation.store.ingest("tele/garden/SENSOR", JSON.stringify({ AM2301: { Temperature: 8.5 } }), T0);
    const { values } = evaluation.read(T0);
    expect(keysOf(values)).toEqual([
      "living_room_temperature",
      "outside_temperature",
      "difference",
      "much_warmer",
    ]);
    const read = byKey(values);
    expect(numberOf(read.get("difference"))).toBe(12.5);
    expect(onOf(read.get("much_warmer"))).toBe(true);
  });

  it("keep the latest value of rules not read now, and follow a read of a rule they use", () => {
    const evaluation = evaluationOf([
      { ...LIVING_ROOM, interval: 3_600 },
      OUTSIDE,
      formula("Difference", "living_room_temperature - outside_temperature", { interval: 3_600 }),
    ]);
    evaluation.store.ingest("zigbee2mqtt/living_room/climate", climate(21, 40), T0);
    evaluation.store.ingest("tele/garden/SENSOR", JSON.stringify({ AM2301: { Temperature: 5 } }), T0);
    evaluation.read(T0);
    evaluation.store.ingest(
      "tele/garden/SENSOR",
      JSON.stringify({ AM2301: { Temperature: 10 } }),
      T0 + MINUTE,
    );
    // The outside rule's own read: the difference follows it, with the living room's latest value.
    const { values } = evaluation.read(T0 + MINUTE, ["outside_temperature"]);
    expect(keysOf(values)).toEqual(["outside_temperature", "difference"]);
    expect(numberOf(byKey(values).get("difference"))).toBe(11);
    // A read of the formula alone computes it from the latest values.
    expect(keysOf(evaluation.read(T0 + 2 * MINUTE, ["difference"]).values)).toEqual(["difference"]);
    // A read of a rule it does not use leaves it alone.
    expect(keysOf(evaluation.read(T0 + 2 * MINUTE, ["living_room_temperature"]).values)).toContain(
      "difference",
    );
    const other = evaluationOf([LIVING_ROOM, OUTSIDE, formula("Twice", "outside_temperature * 2")]);
    expect(keysOf(other.read(T0, ["living_room_temperature"]).values)).toEqual(["living_room_temperature"]);
  });

  it("are unavailable when a value they use is, saying which and why, and come back with it", () => {
    const evaluation = evaluationOf([
      LIVING_ROOM,
      OUTSIDE,
      formula("Difference", "living_room_temperature - outside_temperature"),
      formula("Either", "coalesce(living_room_temperature, outside_temperature)"),
      formula("Known", "available(living_room_temperature)"),
    ]);
    evaluation.store.ingest("zigbee2mqtt/living_room/climate", climate(21, 40), T0);
    evaluation.store.ingest(
      "tele/garden/SENSOR",
      JSON.stringify({ AM2301: { Temperature: 5 } }),
      T0 + 9 * MINUTE,
    );
    // The living room's only sensor goes stale (max_age 600 s).
    let read = byKey(evaluation.read(T0 + 11 * MINUTE).values);
    const difference = read.get("difference");
    expect(difference?.state).toEqual({
      kind: "none",
      reason: "living_room_temperature is unavailable: 0 inputs count, needs 1 (1 stale)",
    });
    expect(
      difference?.sources.map(({ source, state, value, reason }) => ({ source, state, value, reason })),
    ).toEqual([
      { source: "outside_temperature", state: "counted", value: 5, reason: undefined },
      {
        source: "living_room_temperature",
        state: "unavailable",
        value: undefined,
        reason: "0 inputs count, needs 1 (1 stale)",
      },
    ]);
    expect(numberOf(read.get("either"))).toBe(5);
    expect(onOf(read.get("known"))).toBe(false);

    evaluation.store.ingest("zigbee2mqtt/living_room/climate", climate(20, 40), T0 + 12 * MINUTE);
    read = byKey(evaluation.read(T0 + 12 * MINUTE).values);
    expect(numberOf(read.get("difference"))).toBe(15);
    expect(numberOf(read.get("either"))).toBe(20);
    expect(onOf(read.get("known"))).toBe(true);
  });

  it("are unavailable, never NaN or infinite, when the arithmetic has no answer", () => {
    const evaluation = evaluationOf([
      OUTSIDE,
      formula("Ratio", "10 / outside_temperature"),
      formula("Root", "sqrt(outside_temperature)"),
    ]);
    evaluation.store.ingest("tele/garden/SENSOR", JSON.stringify({ AM2301: { Temperature: 0 } }), T0);
    let read = byKey(evaluation.read(T0).values);
    expect(reasonOf(read.get("ratio"))).toBe("division by zero at 1:4");
    evaluation.store.ingest("tele/garden/SENSOR", JSON.stringify({ AM2301: { Temperature: -4 } }), T0);
    read = byKey(evaluation.read(T0).values);
    expect(reasonOf(read.get("root"))).toMatch(/^sqrt of a negative number at 1:1/);
    expect(numberOf(read.get("ratio"))).toBe(-2.5);
  });

  it("say when a value they use has never been computed", () => {
    const evaluation = evaluationOf([
      { ...LIVING_ROOM, interval: 60 },
      formula("Twice", "living_room_temperature * 2", { interval: 30 }),
    ]);
    expect(reasonOf(byKey(evaluation.read(T0, ["twice"]).values).get("twice"))).toBe(
      "living_room_temperature is unavailable: no value yet",
    );
  });

  it("list every name they use in the attributes, with its value or why it has none", () => {
    const rules = compileAll([
      LIVING_ROOM,
      WINDOWS,
      formula("Heating needed", "living_room_temperature < 19 and not windows"),
    ]);
    const evaluation = new Evaluation(new ReadingsStore(rules), rules);
    evaluation.store.ingest("zigbee2mqtt/window/kitchen", JSON.stringify({ contact: true }), T0);
    const heating = byKey(evaluation.read(T0).values).get("heating_needed");
    const rule = rules.find((each) => each.key === "heating_needed");
    if (heating === undefined || rule === undefined) throw new Error("no heating entity");
    expect(JSON.parse(attributesOf(rule, heating))).toEqual({
      function: "formula",
      formula: "living_room_temperature < 19 and not windows",
      inputs: 1,
      sources: { windows: false },
      not_counted: { living_room_temperature: "unavailable: 0 inputs count, needs 1" },
      counted_count: 1,
      not_counted_count: 1,
      unavailable_because: "living_room_temperature is unavailable: 0 inputs count, needs 1",
    });
  });
});

describe("formula rules that fan out", () => {
  const rules = [
    ROOM_TEMPERATURE,
    ROOM_HUMIDITY,
    OUTSIDE,
    formula("{room} dew point", "round(dewpoint(room_temperature, room_humidity), 1)"),
    formula("{room} warmer than outside", "room_temperature - outside_temperature"),
  ];

  it("make one entity per value, joining the entities of the rules they use by it", () => {
    const evaluation = evaluationOf(rules);
    evaluation.store.ingest("home/kitchen/climate", climate(22, 50), T0);
    evaluation.store.ingest("home/bedroom/climate", climate(18, 60), T0);
    evaluation.store.ingest("tele/garden/SENSOR", JSON.stringify({ AM2301: { Temperature: 4 } }), T0);
    const read = byKey(evaluation.read(T0).values);
    expect(numberOf(read.get("room_dew_point__kitchen"))).toBe(11.1);
    expect(numberOf(read.get("room_dew_point__bedroom"))).toBe(10.1);
    expect(numberOf(read.get("room_warmer_than_outside__kitchen"))).toBe(18);
    expect(read.get("room_dew_point__kitchen")?.identity).toEqual({
      ruleKey: "room_dew_point",
      entityKey: "room_dew_point__kitchen",
      name: "kitchen dew point",
      objectId: "kitchen_dew_point",
      captures: { room: "kitchen" },
    });
    expect(
      read.get("room_dew_point__kitchen")?.sources.map((status) => [status.source, status.topic]),
    ).toEqual([
      ["room_temperature", "room_temperature__kitchen"],
      ["room_humidity", "room_humidity__kitchen"],
    ]);
    expect(evaluation.entities().map((identity) => identity.entityKey)).toEqual([
      "room_temperature__kitchen",
      "room_temperature__bedroom",
      "room_humidity__kitchen",
      "room_humidity__bedroom",
      "outside_temperature",
      "room_dew_point__kitchen",
      "room_dew_point__bedroom",
      "room_warmer_than_outside__kitchen",
      "room_warmer_than_outside__bedroom",
    ]);
  });

  it("make an entity only once it has had a value, from a value seen in any rule they use", () => {
    const evaluation = evaluationOf(rules);
    // The attic has a humidity sensor only: its dew point is computed, but has no value, so it does not exist.
    evaluation.store.ingest("home/attic/climate", JSON.stringify({ humidity: 70 }), T0);
    const attic = byKey(evaluation.read(T0).values);
    expect(attic.has("room_dew_point__attic")).toBe(false);
    expect(evaluation.entities().map((identity) => identity.entityKey)).not.toContain(
      "room_dew_point__attic",
    );
    evaluation.store.ingest("home/attic/climate", climate(15, 70), T0 + MINUTE);
    expect(numberOf(byKey(evaluation.read(T0 + MINUTE).values).get("room_dew_point__attic"))).toBe(9.6);
    expect(evaluation.shownEntityKeys()).toContain("room_dew_point__attic");

    // Once shown, it stays, with the reason when it has no value.
    evaluation.store.ingest("home/attic/climate", JSON.stringify({ humidity: 70 }), T0 + 2 * MINUTE);
    expect(reasonOf(byKey(evaluation.read(T0 + 2 * MINUTE).values).get("room_dew_point__attic"))).toBe(
      "room_temperature is unavailable: 0 inputs count, needs 1",
    );
  });

  it("say which entity is missing for a value", () => {
    const evaluation = evaluationOf(rules);
    evaluation.rememberShownEntities(["room_dew_point__attic"]);
    evaluation.store.ingest("home/attic/climate", JSON.stringify({ humidity: 70 }), T0);
    expect(reasonOf(byKey(evaluation.read(T0).values).get("room_dew_point__attic"))).toBe(
      'room_temperature is unavailable: no entity for room "attic"',
    );
  });

  it("exist from the start after a restart that had shown them", () => {
    const evaluation = evaluationOf(rules);
    evaluation.rememberShownEntities(["room_dew_point__kitchen"]);
    evaluation.store.ingest("home/kitchen/climate", JSON.stringify({ humidity: 50 }), T0);
    evaluation.read(T0);
    expect(evaluation.entities().map((identity) => identity.entityKey)).toContain("room_dew_point__kitchen");
    expect(evaluation.shownEntityKeys()).toContain("room_dew_point__kitchen");
  });

  it("keep the keys of values that slug alike across a restart, whichever comes first", () => {
    const keysByRoom = (evaluation: Evaluation, time: number) =>
      new Map(
        evaluation
          .read(time)
          .values.filter((value) => value.identity.ruleKey === "room_dew_point")
          .map((value) => [value.identity.captures["room"], value.identity.entityKey]),
      );
    const first = evaluationOf(rules);
    first.store.ingest("home/Living Room/climate", climate(21, 50), T0);
    first.store.ingest("home/living_room/climate", climate(19, 50), T0);
    const before = keysByRoom(first, T0);
    expect(before.get("Living Room")).toBe("room_dew_point__living_room");
    expect(before.get("living_room")).toMatch(/^room_dew_point__living_room_[0-9a-f]{8}$/);

    const again = evaluationOf(rules);
    again.reserveEntityKeys(first.contestedEntityKeys());
    again.store.ingest("home/living_room/climate", climate(19, 50), T0);
    again.store.ingest("home/Living Room/climate", climate(21, 50), T0);
    expect(keysByRoom(again, T0)).toEqual(before);
  });

  it("fill a rule with fewer wildcards from the formula's values", () => {
    const evaluation = evaluationOf([
      { name: "{floor} {room} temperature", id: "spot", topic: "house/+floor/+room", function: "mean" },
      { name: "{floor} mean", topic: "floors/+floor", function: "mean" },
      formula("{floor} {room} above the floor", "spot - floor_mean"),
    ]);
    evaluation.store.ingest("house/1/kitchen", "22", T0);
    evaluation.store.ingest("house/2/kitchen", "19", T0);
    evaluation.store.ingest("floors/1", "20", T0);
    evaluation.store.ingest("floors/2", "20", T0);
    const read = byKey(evaluation.read(T0).values);
    expect(numberOf(read.get("floor_room_above_the_floor__1_kitchen"))).toBe(2);
    expect(numberOf(read.get("floor_room_above_the_floor__2_kitchen"))).toBe(-1);
  });
});

describe("formula rules on change", () => {
  const rules = [
    LIVING_ROOM,
    WINDOWS,
    formula("Heating needed", "living_room_temperature < 19 and not windows"),
    formula("Half", "living_room_temperature / 2"),
    formula("Airing", "windows and not heating_needed"),
  ];

  it("follow their inputs in the same flush, transitively, and leave interval formulas to their reads", () => {
    const evaluation = evaluationOf(rules);
    evaluation.store.ingest("zigbee2mqtt/living_room/climate", climate(17, 40), T0);
    evaluation.store.ingest("zigbee2mqtt/window/kitchen", JSON.stringify({ contact: true }), T0);
    expect(onOf(byKey(evaluation.read(T0).values).get("heating_needed"))).toBe(true);
    evaluation.readChanged(T0); // the window's first message, already read
    expect(evaluation.hasChanges).toBe(false);

    evaluation.store.ingest("zigbee2mqtt/window/kitchen", JSON.stringify({ contact: false }), T0 + 1_000);
    expect(evaluation.hasChanges).toBe(true);
    const flushed = evaluation.readChanged(T0 + 1_000).values;
    expect(keysOf(flushed)).toEqual(["windows", "heating_needed", "airing"]);
    expect(onOf(byKey(flushed).get("heating_needed"))).toBe(false);
    expect(onOf(byKey(flushed).get("airing"))).toBe(true);
    expect(evaluation.hasChanges).toBe(false);
    expect(evaluation.readChanged(T0 + 2_000).values).toEqual([]);
  });

  it("compute a marked entity at the next flush, whatever its update", () => {
    const evaluation = evaluationOf(rules);
    evaluation.store.ingest("zigbee2mqtt/living_room/climate", climate(17, 40), T0);
    evaluation.read(T0);
    evaluation.markEntityChanged("half");
    expect(evaluation.hasChanges).toBe(true);
    expect(keysOf(evaluation.readChanged(T0 + 1_000).values)).toEqual(["half"]);
    expect(evaluation.hasChanges).toBe(false);
    // Other keys go to the store, as before.
    evaluation.markEntityChanged("windows");
    expect(keysOf(evaluation.readChanged(T0 + 2_000).values)).toEqual([
      "windows",
      "heating_needed",
      "airing",
    ]);
  });
});
