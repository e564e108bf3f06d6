import { describe, expect, it } from "vitest";
import { parseOptions } from "../../src/options/parse-options.js";
import { RULE_FUNCTIONS } from "../../src/options/schema.js";
import { compileOne, fieldProblemsOf, problemsOf } from "../support/rules.js";

const MEAN = { name: "Mean", topic: "s/+", function: "mean" };

/** Problems of options holding one rule made of MEAN and `fields`. */
function ruleProblems(fields: Record<string, unknown>): string[] {
  return fieldProblemsOf({ rules: [{ ...MEAN, ...fields }] });
}

/** Every problem is one short line naming a field, with no stack trace or JSON dump. */
function expectPlainLines(problems: readonly string[]): void {
  expect(problems.length).toBeGreaterThan(0);
  for (const problem of problems) {
    expect(problem).not.toMatch(/[\r\n]/);
    expect(problem).toMatch(/^[A-Za-z_]+(\[\d+\])?(\.[a-z_]+)*: \S/);
    expect(problem).not.toMatch(/\bat .*:\d+:\d+|ZodError|"code"|\[object Object\]|undefined/);
    expect(problem.length).toBeLessThan(300);
  }
}

describe("defaults", () => {
  it("applies every default to empty options", () => {
    const result = parseOptions({});
    expect(result).toEqual({
      ok: true,
      settings: {
        logLevel: "info",
        firstReadDelayMs: 10_000,
        readIntervalMs: 180_000,
        discoveryPrefix: "homeassistant",
        baseTopic: "mqtt_aggregator",
        rules: [],
        mqtt: {},
      },
    });
  });

  it("fills a rule's defaults from the options", () => {
    const rule = compileOne(MEAN, { max_age: 120, read_interval: 30, max_sources: 7 });
    expect(rule).toMatchObject({
      key: "mean",
      nameTemplate: "Mean",
      captureNames: [],
      function: "mean",
      valuePaths: [],
      onValues: ["on"],
      minInputs: 1,
      maxAgeMs: 120_000,
      intervalMs: 30_000,
      maxSources: 7,
      presentation: { unit: undefined, deviceClass: undefined, stateClass: undefined, precision: undefined },
    });
    expect(compileOne({ ...MEAN, max_age: 5, interval: 2, min_inputs: 3, id: "x_1" })).toMatchObject({
      key: "x_1",
      maxAgeMs: 5_000,
      intervalMs: 2_000,
      minInputs: 3,
    });
  });

  it("uses 900 s max_age, 180 s interval and 1000 sources by default", () => {
    expect(compileOne(MEAN)).toMatchObject({ maxAgeMs: 900_000, intervalMs: 180_000, maxSources: 1000 });
  });

  it("trims the topic, name and on_value, and lower-cases on_value", () => {
    const rule = compileOne({ name: "  Any  ", topic: "  d/+  ", function: "any", on_value: " Open " });
    expect(rule.nameTemplate).toBe("Any");
    expect(rule.filters.map((filter) => filter.text)).toEqual(["d/+"]);
    expect(rule.onValues).toEqual(["open"]);
  });

  it("passes the mqtt override through", () => {
    const result = parseOptions({
      mqtt: { host: "broker", port: 1884, username: "u", password: "p", tls: true },
    });
    expect(result.ok && result.settings.mqtt).toEqual({
      host: "broker",
      port: 1884,
      username: "u",
      password: "p",
      tls: true,
    });
  });
});

describe("problems a person can act on", () => {
  it("name the rule by its name as well as its index, escaped and shortened", () => {
    expect(problemsOf({ rules: [MEAN, { ...MEAN, name: "Living room windows", function: "anyy" }] })).toEqual(
      [`rules[1] "Living room windows".function: expected one of ${RULE_FUNCTIONS.join(", ")}`],
    );
    expect(problemsOf({ rules: [{ ...MEAN, name: 'Say "hi"\n', unit: 5 }] })).toEqual([
      'rules[0] "Say \\"hi\\"".unit: expected string, got 5',
    ]);
    const [long] = problemsOf({ rules: [{ ...MEAN, name: "x".repeat(255), precision: 11 }] });
    expect(long).toBe(`rules[0] "${"x".repeat(59)}…".precision: must be at most 10`);
    // Without a usable name, the index alone.
    expect(problemsOf({ rules: [{ topic: "a", function: "mean" }] })).toEqual(["rules[0].name: required"]);
  });

  it("come all in one pass: the options' shape, each rule's fields, and what a rule means", () => {
    const problems = problemsOf({
      read_interval: "often",
      rules: [
        { ...MEAN, name: "Living room windows", function: "any", unit: "°C", precision: 11 },
        { ...MEAN, name: "Kitchen", device_class: "Temperatur" },
        { ...MEAN, name: "Hall", function: "count", on_value: "ON" },
      ],
    });
    expect(problems).toEqual([
      'read_interval: expected number, got "often"',
      'rules[0] "Living room windows".precision: must be at most 10',
      'rules[0] "Living room windows".unit: function any makes a binary sensor (on/off), which has no unit',
      `rules[1] "Kitchen".device_class: unknown device_class "Temperatur"; did you mean "temperature"? (see Home Assistant's sensor and binary sensor device classes)`,
      'rules[2] "Hall".on_value: only all, any, none and count_on compare with on_value; count does not',
    ]);
  });

  it("take a topic as a list of filters as well as a text", () => {
    const list = compileOne({ ...MEAN, topic: ["zigbee2mqtt/+", "!zigbee2mqtt/bridge"] });
    const text = compileOne({ ...MEAN, topic: "zigbee2mqtt/+, !zigbee2mqtt/bridge" });
    expect(list.filters).toEqual(text.filters);
    expect(list.exclusions).toEqual(text.exclusions);
    expect(problemsOf({ rules: [{ ...MEAN, topic: [] }] })).toEqual([
      'rules[0] "Mean".topic: cannot be an empty list',
    ]);
  });

  it("check a rule's device and icon", () => {
    expect(problemsOf({ rules: [{ ...MEAN, device: "{room}" }] })).toEqual([
      'rules[0] "Mean".device: {room} is not a named wildcard of the topic (write +room in it)',
    ]);
    expect(problemsOf({ rules: [{ ...MEAN, icon: "window" }] })).toEqual([
      'rules[0] "Mean".icon: write an icon as mdi:name, such as mdi:window-open',
    ]);
    const rule = compileOne({
      name: "{room} lights",
      topic: "l/+room",
      function: "count_on",
      device: "{room}",
      icon: "mdi:lamp",
    });
    expect(rule.deviceTemplate).toBe("{room}");
    expect(rule.presentation.icon).toBe("mdi:lamp");
  });

  it("give counts the measurement state class unless the rule says otherwise", () => {
    expect(compileOne({ ...MEAN, function: "count" }).presentation.stateClass).toBe("measurement");
    expect(compileOne({ ...MEAN, function: "count_on" }).presentation.stateClass).toBe("measurement");
    expect(compileOne({ ...MEAN, function: "count", state_class: "total" }).presentation.stateClass).toBe(
      "total",
    );
    expect(compileOne(MEAN).presentation.stateClass).toBeUndefined();
  });
});

describe("schema problems", () => {
  it("names unknown keys at every depth", () => {
    const problems = fieldProblemsOf({ colour: 1, mqtt: { hots: "x" }, rules: [{ ...MEAN, foo: 1 }] });
    expect(problems.sort()).toEqual([
      "colour: unknown option",
      "mqtt.hots: unknown option",
      "rules[0].foo: unknown option",
    ]);
  });

  it("lists the choices of an enum", () => {
    expect(ruleProblems({ function: "average" })).toEqual([
      `rules[0].function: expected one of ${RULE_FUNCTIONS.join(", ")}`,
    ]);
    expect(fieldProblemsOf({ log_level: "verbose" })).toEqual([
      "log_level: expected one of trace, debug, info, warning, error",
    ]);
    expect(ruleProblems({ state_class: "meas" })).toEqual([
      "rules[0].state_class: expected one of measurement, measurement_angle, total, total_increasing",
    ]);
  });

  it("names the expected and the given type", () => {
    expect(fieldProblemsOf({ read_interval: "fast" })).toEqual([
      'read_interval: expected number, got "fast"',
    ]);
    expect(fieldProblemsOf({ max_age: 1.5 })).toEqual(["max_age: expected a whole number, got 1.5"]);
    expect(fieldProblemsOf({ mqtt: { tls: "yes" } })).toEqual(['mqtt.tls: expected boolean, got "yes"']);
    expect(fieldProblemsOf({ rules: {} })).toEqual(["rules: expected array, got an object"]);
    expect(fieldProblemsOf({ rules: [{ ...MEAN, name: 3, topic: null }] })).toEqual([
      "rules[0].name: expected string, got 3",
      "rules[0].topic: expected a text or a list of texts, got null",
    ]);
    expect(fieldProblemsOf(null)).toEqual(["options: expected object, got null"]);
    expect(fieldProblemsOf([])).toEqual(["options: expected object, got a list"]);
  });

  it("shortens a long wrong value", () => {
    const [problem] = fieldProblemsOf({ max_age: "x".repeat(500) });
    expect(problem).toBe(`max_age: expected number, got "${"x".repeat(27)}..."`);
  });

  it("never repeats a password in a problem", () => {
    expect(fieldProblemsOf({ mqtt: { password: 123_456 } })).toEqual(["mqtt.password: expected string"]);
  });

  it("reports missing required fields", () => {
    expect(fieldProblemsOf({ rules: [{ name: "x", function: "mean" }] })).toEqual([
      "rules[0].topic: required (the MQTT topic filter to read); only function: formula has none",
    ]);
    // A missing enum lists its choices, which helps more than "required".
    expect(fieldProblemsOf({ rules: [{ name: "x", topic: "a" }] })).toEqual([
      `rules[0].function: expected one of ${RULE_FUNCTIONS.join(", ")}`,
    ]);
  });

  it("enforces bounds", () => {
    expect(fieldProblemsOf({ read_interval: 0 })).toEqual(["read_interval: must be at least 1"]);
    expect(fieldProblemsOf({ read_interval: 86_401 })).toEqual(["read_interval: must be at most 86400"]);
    expect(fieldProblemsOf({ first_read_delay: -1 })).toEqual(["first_read_delay: must be at least 0"]);
    expect(fieldProblemsOf({ max_sources: 0 })).toEqual(["max_sources: must be at least 1"]);
    expect(fieldProblemsOf({ mqtt: { port: 65_536 } })).toEqual(["mqtt.port: must be at most 65535"]);
    expect(ruleProblems({ precision: 11 })).toEqual(["rules[0].precision: must be at most 10"]);
    expect(ruleProblems({ min_inputs: 0 })).toEqual(["rules[0].min_inputs: must be at least 1"]);
    expect(ruleProblems({ max_age: 2_592_001 })).toEqual(["rules[0].max_age: must be at most 2592000"]);
    expect(ruleProblems({ name: "   " })).toEqual(["rules[0].name: cannot be empty"]);
    expect(fieldProblemsOf({ read_interval: 1, max_age: 2_592_000, first_read_delay: 0 })).toEqual([]);
  });

  it("checks ids and topic parts with a sentence", () => {
    expect(ruleProblems({ id: "My-Rule" })).toEqual([
      "rules[0].id: use lower-case letters, digits and _ only",
    ]);
    expect(fieldProblemsOf({ base_topic: "a/b" })).toEqual(["base_topic: use letters, digits, _ and - only"]);
    expect(fieldProblemsOf({ discovery_prefix: "" })).toEqual([
      "discovery_prefix: use letters, digits, _ and - only",
    ]);
  });

  it("reports every problem on its own plain line", () => {
    const problems = fieldProblemsOf({
      log_level: 3,
      extra: true,
      rules: [
        { ...MEAN, function: "avg", colour: "red" },
        { name: "", topic: "a/#/b", function: "any", unit: "°C" },
        { name: "{room}", topic: "a/+", function: "mean", on_value: "ON" },
      ],
      mqtt: { port: "x" },
    });
    expectPlainLines(problems);
    expect(new Set(problems).size).toBe(problems.length);
  });
});

describe("rule problems", () => {
  it("rejects invalid topic filters with a sentence", () => {
    for (const topic of ["a/b#", "a/#/b", "a+", "a/+b-c", ", ,"]) {
      const problems = ruleProblems({ topic });
      expect(problems, topic).toHaveLength(1);
      expect(problems[0]).toMatch(/^rules\[0\]\.topic: /);
    }
    expect(ruleProblems({ topic: "" })).toEqual(["rules[0].topic: cannot be empty"]);
  });

  it("reports only the topic when a broken topic would also hide the name's wildcards", () => {
    expect(ruleProblems({ name: "{room} x", topic: "a/+room/b#" })).toEqual([
      'rules[0].topic: "b#" in "a/+room/b#": "+" and "#" must fill a whole level',
    ]);
  });

  it("rejects filters of one rule naming different wildcards", () => {
    const problems = ruleProblems({ name: "{room}", topic: "a/+room, b/+area" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^rules\[0\]\.topic: every filter of a rule must name the same wildcards/);
  });

  it("rejects an empty value_path segment", () => {
    expect(ruleProblems({ value_path: "a..b" })).toEqual([
      'rules[0].value_path: "a..b" has an empty key at position 3; write keys separated by single dots',
    ]);
  });

  it("requires name placeholders to match the named wildcards", () => {
    expect(ruleProblems({ name: "{room} temperature", topic: "home/+/temperature" })).toEqual([
      "rules[0].name: {room} is not a named wildcard of the topic (write +room in it)",
    ]);
    expect(ruleProblems({ name: "Temperature", topic: "home/+room/temperature" })).toEqual([
      "rules[0].name: must contain {room}, or every +room entity would have the same name",
    ]);
    expect(ruleProblems({ name: "{Room}", topic: "home/+room/t" })).toHaveLength(2);
    expect(ruleProblems({ name: "{room} on {floor}", topic: "home/+floor/+room/t" })).toEqual([]);
  });

  it("rejects a unit, state class or precision on a binary function", () => {
    for (const fn of ["all", "any", "none"]) {
      expect(ruleProblems({ function: fn, unit: "%" })).toEqual([
        expect.stringMatching(/^rules\[0\]\.unit: .*binary sensor.* no unit$/) as unknown,
      ]);
      expect(ruleProblems({ function: fn, state_class: "measurement" })).toHaveLength(1);
      expect(ruleProblems({ function: fn, precision: 1 })).toHaveLength(1);
    }
    expect(ruleProblems({ function: "count_on", unit: "%" })).toEqual([]);
  });

  it("checks device classes against their units", () => {
    expect(ruleProblems({ device_class: "temperature", unit: "°C" })).toEqual([]);
    expect(ruleProblems({ device_class: "temperature", unit: "°F", state_class: "measurement" })).toEqual([]);
    const [problem, ...rest] = ruleProblems({ device_class: "temperature", unit: "C" });
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^rules\[0\]\.unit: .*°C/);
    expect(ruleProblems({ device_class: "temperature" })).toEqual([
      expect.stringMatching(/^rules\[0\]\.device_class: .*needs a unit/) as unknown,
    ]);
    expect(ruleProblems({ device_class: "window", unit: "%" })[0]).toMatch(
      /^rules\[0\]\.device_class: .*binary_sensor/,
    );
    expect(ruleProblems({ function: "any", device_class: "window" })).toEqual([]);
    expect(ruleProblems({ function: "any", device_class: "temperature" })[0]).toMatch(
      /^rules\[0\]\.device_class: /,
    );
    expect(ruleProblems({ function: "any", device_class: "windw" })[0]).toContain('did you mean "window"');
  });

  it("checks the state class against the device class", () => {
    expect(
      ruleProblems({ device_class: "temperature", unit: "°C", state_class: "total_increasing" }),
    ).toEqual([expect.stringMatching(/^rules\[0\]\.state_class: /) as unknown]);
    expect(ruleProblems({ device_class: "energy", unit: "kWh", state_class: "total" })).toEqual([]);
  });

  it("rejects on_value on a numeric function", () => {
    for (const fn of ["mean", "median", "min", "max", "sum", "count", "range", "stdev", "last"]) {
      expect(ruleProblems({ function: fn, on_value: "ON" })).toEqual([
        `rules[0].on_value: only all, any, none and count_on compare with on_value; ${fn} does not`,
      ]);
    }
    for (const fn of ["all", "any", "none", "count_on"])
      expect(ruleProblems({ function: fn, on_value: "ON" })).toEqual([]);
  });

  it("rejects duplicate rule keys, from names or from ids", () => {
    expect(fieldProblemsOf({ rules: [MEAN, { ...MEAN, name: "mean!" }] })).toEqual([
      'rules[1].name: rules[0] "Mean" already has the key "mean"; give one of them a different id',
    ]);
    expect(
      fieldProblemsOf({
        rules: [
          { ...MEAN, id: "x" },
          { ...MEAN, name: "Other", id: "x" },
        ],
      }),
    ).toEqual(['rules[1].id: rules[0] "Mean" already has the key "x"; give one of them a different id']);
    expect(fieldProblemsOf({ rules: [MEAN, { ...MEAN, id: "other" }] })).toEqual([]);
    // "{room} temperature" and "room temperature" share a key once the braces are dropped.
    expect(
      fieldProblemsOf({
        rules: [
          { name: "{room} temperature", topic: "a/+room", function: "mean" },
          { name: "Room temperature", topic: "b", function: "mean" },
        ],
      }),
    ).toHaveLength(1);
  });

  it("reports problems of several rules, each with its index", () => {
    const problems = fieldProblemsOf({
      rules: [
        MEAN,
        { ...MEAN, name: "B", function: "any", unit: "W" },
        { ...MEAN, name: "C", on_value: "x" },
      ],
    });
    expect(problems.map((problem) => problem.slice(0, problem.indexOf(":")))).toEqual([
      "rules[1].unit",
      "rules[2].on_value",
    ]);
  });
});

describe("rules Home Assistant would accept but users would regret", () => {
  const problems = (rule: Record<string, unknown>) =>
    fieldProblemsOf({ rules: [{ name: "R", topic: "a/+", ...rule }] });

  it("refuses total_increasing for anything but last: a sum drops when a meter goes stale", () => {
    expect(
      problems({ function: "sum", device_class: "energy", unit: "kWh", state_class: "total_increasing" }),
    ).toEqual([expect.stringMatching(/^rules\[0\]\.state_class: total_increasing .* use total$/)]);
    expect(problems({ function: "sum", device_class: "energy", unit: "kWh", state_class: "total" })).toEqual(
      [],
    );
    expect(
      problems({ function: "last", device_class: "energy", unit: "kWh", state_class: "total_increasing" }),
    ).toEqual([]);
  });

  it("wants temperature_delta for a range or spread of temperatures", () => {
    expect(problems({ function: "range", device_class: "temperature", unit: "°C" })).toEqual([
      expect.stringMatching(/^rules\[0\]\.device_class: .*temperature_delta/),
    ]);
    expect(problems({ function: "stdev", device_class: "temperature_delta", unit: "°C" })).toEqual([]);
  });

  it("names the device class, not the unit, when the class is unknown", () => {
    expect(problems({ function: "mean", device_class: "Temperatur", unit: "°C" })).toEqual([
      'rules[0].device_class: unknown device_class "Temperatur"; did you mean "temperature"? (see Home Assistant\'s sensor and binary sensor device classes)',
    ]);
  });
});
