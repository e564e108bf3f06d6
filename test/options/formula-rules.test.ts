import { describe, expect, it } from "vitest";
import type { FormulaRule } from "../../src/core/rule.js";
import { isBinaryRule, isFormulaRule } from "../../src/core/rule.js";
import { compileAll, problemsOf, type RuleJson } from "../support/rules.js";

/** The rules formulas in these tests use, as a user writes them. */
const LIVING_ROOM_TEMPERATURE = {
  name: "Living room temperature",
  topic: "zigbee2mqtt/living_room/+",
  value_path: "temperature",
  function: "mean",
  unit: "°C",
};
const OUTSIDE_TEMPERATURE = { name: "Outside temperature", topic: "tele/garden/SENSOR", function: "mean" };
const WINDOWS = { name: "Windows", topic: "zigbee2mqtt/window/+", value_path: "contact", function: "any" };
const ROOM_TEMPERATURE = { name: "{room} temperature", topic: "home/+room/temperature", function: "mean" };
const ROOM_HUMIDITY = { name: "{room} humidity", topic: "home/+room/humidity", function: "mean" };
const BASE = [LIVING_ROOM_TEMPERATURE, OUTSIDE_TEMPERATURE, WINDOWS, ROOM_TEMPERATURE];

const formula = (name: string, text: string, fields: RuleJson = {}): RuleJson => ({
  name,
  function: "formula",
  formula: text,
  ...fields,
});

/** The problems of the base rules followed by `rules`. */
const problemsWith = (...rules: RuleJson[]) => problemsOf({ rules: [...BASE, ...rules] });

function formulaRule(rules: readonly RuleJson[], key: string): FormulaRule {
  const rule = compileAll(rules).find((each) => each.key === key);
  if (rule === undefined || !isFormulaRule(rule)) throw new Error(`no formula rule ${key}`);
  return rule;
}

describe("a formula rule", () => {
  it("compiles to its formula, what each name stands for, and the defaults of its kind", () => {
    const difference = formulaRule(
      [...BASE, formula("Difference", "living_room_temperature - outside_temperature", { unit: "°C" })],
      "difference",
    );
    expect(difference).toMatchObject({
      key: "difference",
      nameTemplate: "Difference",
      captureNames: [],
      function: "formula",
      update: "interval",
      minIntervalMs: 10_000,
      intervalMs: 180_000,
      presentation: { unit: "°C" },
    });
    expect(difference.formula.resultKind).toBe("number");
    expect([...difference.references]).toEqual([
      [
        "living_room_temperature",
        { kind: "entity", ruleKey: "living_room_temperature", entityKey: "living_room_temperature" },
      ],
      [
        "outside_temperature",
        { kind: "entity", ruleKey: "outside_temperature", entityKey: "outside_temperature" },
      ],
    ]);
    expect(isBinaryRule(difference)).toBe(false);

    const heating = formulaRule(
      [...BASE, formula("Heating needed", "living_room_temperature < 19 and not windows", { interval: 60 })],
      "heating_needed",
    );
    expect(heating).toMatchObject({ update: "change", minIntervalMs: 0, intervalMs: 60_000 });
    expect(isBinaryRule(heating)).toBe(true);
  });

  it("names one entity of a fanned-out rule by its key", () => {
    const rule = formulaRule(
      [...BASE, formula("Kitchen warmer", "room_temperature__kitchen - outside_temperature")],
      "kitchen_warmer",
    );
    expect(rule.references.get("room_temperature__kitchen")).toEqual({
      kind: "entity",
      ruleKey: "room_temperature",
      entityKey: "room_temperature__kitchen",
    });
  });

  it("uses formula rules written before or after it, of either kind", () => {
    const rules = compileAll([
      ...BASE,
      formula("Heating", "cold and not windows"),
      formula("Cold", "difference < -5"),
      formula("Difference", "living_room_temperature - outside_temperature"),
    ]);
    expect(rules.filter(isFormulaRule).map((rule) => [rule.key, rule.formula.resultKind])).toEqual([
      ["heating", "boolean"],
      ["cold", "boolean"],
      ["difference", "number"],
    ]);
  });
});

describe("problems of a formula", () => {
  it("names the rule by its index and name, and the position, with the engine's words", () => {
    expect(problemsWith(formula("Heating needed", "living_room_temp < 19 and not windows"))).toEqual([
      'rules[4] "Heating needed".formula: unknown reference "living_room_temp" at 1:1; did you mean "living_room_temperature"?',
    ]);
    expect(problemsWith(formula("Mean", "average(living_room_temperature, outside_temperature)"))).toEqual([
      expect.stringMatching(
        /^rules\[4\] "Mean"\.formula: unknown function "average" at 1:1; the functions are abs, /,
      ),
    ]);
    expect(problemsWith(formula("Rounded", "round(outside_temperature, 1, 2)"))).toEqual([
      'rules[4] "Rounded".formula: round takes 1 or 2 arguments, got 3 at 1:1',
    ]);
    expect(problemsWith(formula("Sum", "outside_temperature + windows"))).toEqual([
      'rules[4] "Sum".formula: expected a number for +, got the boolean "windows" at 1:23',
    ]);
    expect(problemsWith(formula("Open", "max(outside_temperature"))).toEqual([
      'rules[4] "Open".formula: unclosed "(" at 1:4',
    ]);
  });

  it("is required with function: formula, and only there", () => {
    expect(problemsOf({ rules: [{ name: "Nothing", function: "formula" }] })).toEqual([
      'rules[0] "Nothing".formula: required with function: formula, such as living_room_temperature - outside_temperature',
    ]);
    expect(problemsOf({ rules: [{ ...OUTSIDE_TEMPERATURE, formula: "1 + 1" }] })).toEqual([
      'rules[0] "Outside temperature".formula: only function: formula takes a formula; mean reads topics',
    ]);
    expect(problemsOf({ rules: [{ name: "No topic", function: "mean" }] })).toEqual([
      'rules[0] "No topic".topic: required (the MQTT topic filter to read); only function: formula has none',
    ]);
  });

  it("refuses what only a rule reading topics has, saying why", () => {
    const refused: [string, unknown][] = [
      ["topic", "a/b"],
      ["value_path", "temperature"],
      ["on_value", "ON"],
      ["availability", "off"],
      ["min_inputs", 2],
      ["max_age", 60],
      ["min_value", -40],
      ["max_value", 60],
    ];
    for (const [field, value] of refused) {
      const problems = problemsWith(formula("F", "outside_temperature * 2", { [field]: value }));
      expect(problems, field).toEqual([
        expect.stringMatching(new RegExp(`^rules\\[4\\] "F"\\.${field}: \\S`)),
      ]);
    }
    expect(problemsWith(formula("F", "outside_temperature * 2", { topic: "a/b" }))).toEqual([
      'rules[4] "F".topic: a formula rule reads no topic: its formula uses the values of other rules',
    ]);
  });

  it("checks a true/false formula as a binary sensor and a numeric one as a sensor", () => {
    const cold = (fields: RuleJson) => problemsWith(formula("Cold", "outside_temperature < 5", fields));
    expect(cold({ unit: "°C" })).toEqual([
      'rules[4] "Cold".unit: a true/false formula makes a binary sensor (on/off), which has no unit',
    ]);
    expect(cold({ state_class: "measurement" })).toEqual([
      'rules[4] "Cold".state_class: a true/false formula makes a binary sensor, which has no state class',
    ]);
    expect(cold({ precision: 1 })).toEqual([
      'rules[4] "Cold".precision: a true/false formula makes a binary sensor, which has no precision',
    ]);
    expect(cold({ device_class: "temperature" })).toEqual([
      'rules[4] "Cold".device_class: "temperature" is a sensor device_class, not a binary_sensor one',
    ]);
    expect(cold({ device_class: "cold", delay_on: 300, delay_off: 60 })).toEqual([]);

    const twice = (fields: RuleJson) => problemsWith(formula("Twice", "outside_temperature * 2", fields));
    expect(twice({ device_class: "temperature", unit: "C" })).toEqual([
      expect.stringMatching(/^rules\[4\] "Twice"\.unit: device_class temperature takes unit °C, °F or K/),
    ]);
    expect(twice({ delay_on: 5 })).toEqual([
      'rules[4] "Twice".delay_on: a numeric formula does not make a binary sensor; delays are for all, any, none and true/false formulas',
    ]);
    expect(twice({ min_interval: 5 })).toEqual([
      'rules[4] "Twice".min_interval: applies to rules with update: change; this rule is published at its interval',
    ]);
    expect(twice({ update: "change", min_interval: 5, unit: "kWh", device_class: "energy" })).toEqual([]);
    // A sum of meters in a formula goes unavailable with one of them, rather than dropping.
    expect(twice({ unit: "kWh", device_class: "energy", state_class: "total_increasing" })).toEqual([]);
  });

  it("refuses formulas that use each other, naming the cycle, and nothing more about them", () => {
    expect(
      problemsWith(
        formula("A", "b + 1"),
        formula("B", "c * 2"),
        formula("C", "a - outside_temperature"),
        formula("D", "a + 1"),
        formula("Self", "self + 1"),
      ),
    ).toEqual([
      'rules[4] "A".formula: a cycle of formulas: a → b → c → a; a formula cannot use its own value, not even through others',
      'rules[8] "Self".formula: a cycle of formulas: self → self; a formula cannot use its own value, not even through others',
    ]);
  });

  it("says nothing of a formula using a formula that has problems of its own", () => {
    expect(problemsWith(formula("Broken", "outside_temperature +"), formula("User", "broken * 2"))).toEqual([
      'rules[4] "Broken".formula: expected a value after "+", found the end of the formula at 1:22',
    ]);
  });

  it("refuses a rule key that is a word of the language where a formula uses the word", () => {
    const problems = problemsWith({ ...WINDOWS, name: "True" }, formula("Odd", "true and windows"));
    expect(problems).toEqual([
      'rules[5] "Odd".formula: "true" is a word of the formula language, so it cannot name rules[4] "True" at 1:1; give that rule an id to use it in formulas',
    ]);
    expect(problemsWith({ ...WINDOWS, name: "True" }, formula("Fine", "windows"))).toEqual([]);
  });

  it("refuses a duplicate key, as for every rule", () => {
    expect(problemsWith(formula("Windows", "outside_temperature < 0"))).toEqual([
      'rules[4] "Windows".name: rules[2] "Windows" already has the key "windows"; give one of them a different id',
    ]);
  });
});

describe("formulas over fanned-out rules", () => {
  it("join a fanned-out rule's entities by the values of the formula rule's own wildcards", () => {
    const dewPoint = formulaRule(
      [...BASE, ROOM_HUMIDITY, formula("{room} dew point", "dewpoint(room_temperature, room_humidity)")],
      "room_dew_point",
    );
    expect(dewPoint.captureNames).toEqual(["room"]);
    expect(dewPoint.references.get("room_humidity")).toEqual({
      kind: "joined",
      ruleKey: "room_humidity",
      captureNames: ["room"],
    });
  });

  it("refuse a fanned-out rule named whole where the formula has no wildcard to choose an entity by", () => {
    expect(problemsWith(formula("Warmest", "room_temperature - outside_temperature"))).toEqual([
      'rules[4] "Warmest".formula: "room_temperature" is one entity per {room}, and this rule\'s name has no {room} to choose one by at 1:1; write one of them by its key, as room_temperature__<room>, or put {room} in this rule\'s name to compute one entity per value',
    ]);
  });

  it("refuse a wildcard of the name that no rule the formula uses has", () => {
    expect(
      problemsWith(formula("{area} difference", "living_room_temperature - outside_temperature")),
    ).toEqual([
      'rules[4] "{area} difference".name: {area} is not a named wildcard of any rule the formula uses, so it has no values to take',
    ]);
    expect(
      problemsWith(
        { name: "{floor} mean", topic: "home/+floor/mean", function: "mean" },
        formula("{floor} {room} difference", "room_temperature - floor_mean"),
      ),
    ).toEqual([
      'rules[5] "{floor} {room} difference".name: no rule the formula uses has all of {floor} and {room}, so there are no values to make entities of',
    ]);
  });

  it("refuse an entity key of a rule that does not fan out", () => {
    expect(problemsWith(formula("F", "outside_temperature__kitchen"))).toEqual([
      expect.stringMatching(
        /^rules\[4\] "F"\.formula: unknown reference "outside_temperature__kitchen" at 1:1/,
      ),
    ]);
  });

  it("fill a rule with fewer wildcards from the values of the formula's own", () => {
    const rule = formulaRule(
      [
        ...BASE,
        { name: "{floor} {room} temperature", id: "spot", topic: "house/+floor/+room", function: "mean" },
        { name: "{floor} mean", topic: "home/+floor/mean", function: "mean" },
        formula("{floor} {room} above the floor", "spot - floor_mean"),
      ],
      "floor_room_above_the_floor",
    );
    expect(rule.references.get("floor_mean")).toEqual({
      kind: "joined",
      ruleKey: "floor_mean",
      captureNames: ["floor"],
    });
  });
});
