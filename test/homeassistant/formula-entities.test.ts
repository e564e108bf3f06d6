import { describe, expect, it } from "vitest";
import { identify } from "../../src/core/entity-group.js";
import { componentOf, discoveryConfig } from "../../src/homeassistant/discovery-payloads.js";
import { configTopic, entityTopics, type TopicLayout } from "../../src/homeassistant/entity-topics.js";
import { staleEntityTopics } from "../../src/homeassistant/stale-entities.js";
import { discoveryProblems } from "../support/discovery-validator.js";
import { compileAll } from "../support/rules.js";

const LAYOUT: TopicLayout = { discoveryPrefix: "homeassistant", baseTopic: "mqtt_aggregator" };
const ADDON = { version: "test", supportUrl: "https://example.invalid" };

const RULES = compileAll([
  {
    name: "Living room temperature",
    topic: "zigbee2mqtt/living_room/+",
    value_path: "temperature",
    function: "mean",
  },
  { name: "Outside temperature", topic: "tele/garden/SENSOR", function: "mean" },
  {
    name: "Windows",
    topic: "zigbee2mqtt/window/+",
    value_path: "contact",
    function: "any",
    on_value: "false",
  },
  { name: "{room} temperature", topic: "home/+room/climate", value_path: "temperature", function: "mean" },
  { name: "{room} humidity", topic: "home/+room/climate", value_path: "humidity", function: "mean" },
  {
    name: "Indoor outdoor difference",
    function: "formula",
    formula: "living_room_temperature - outside_temperature",
    unit: "°C",
    device_class: "temperature_delta",
    state_class: "measurement",
    precision: 1,
  },
  {
    name: "Heating needed",
    function: "formula",
    formula: "living_room_temperature < 19 and not windows",
    device_class: "heat",
  },
  {
    name: "{room} dew point",
    function: "formula",
    formula: "dewpoint(room_temperature, room_humidity)",
    unit: "°C",
    device_class: "temperature",
  },
]);
const ruleOf = (key: string) => {
  const rule = RULES.find((each) => each.key === key);
  if (rule === undefined) throw new Error(`no rule ${key}`);
  return rule;
};

describe("formula entities in Home Assistant", () => {
  it("are sensors, or binary sensors for a true/false formula, with configs Home Assistant accepts", () => {
    const cases: [string, string[], "sensor" | "binary_sensor"][] = [
      ["indoor_outdoor_difference", [], "sensor"],
      ["heating_needed", [], "binary_sensor"],
      ["room_dew_point", ["kitchen"], "sensor"],
    ];
    for (const [key, captures, component] of cases) {
      const rule = ruleOf(key);
      expect(componentOf(rule), key).toBe(component);
      const message = discoveryConfig(
        LAYOUT,
        ADDON,
        rule,
        identify(rule, captures, () => false),
      );
      expect(discoveryProblems(message.topic, message.payload), key).toEqual([]);
    }
    const heating = JSON.parse(
      discoveryConfig(
        LAYOUT,
        ADDON,
        ruleOf("heating_needed"),
        identify(ruleOf("heating_needed"), [], () => false),
      ).payload,
    ) as Record<string, unknown>;
    expect(heating).toMatchObject({ device_class: "heat", payload_on: "ON", payload_off: "OFF" });
    expect(heating).not.toHaveProperty("unit_of_measurement");
  });

  it("are kept by the cleanup of stale entities, as entities of current rules", () => {
    const kept = [
      configTopic(LAYOUT, "sensor", "indoor_outdoor_difference"),
      configTopic(LAYOUT, "binary_sensor", "heating_needed"),
      configTopic(LAYOUT, "sensor", "room_dew_point__kitchen"),
    ];
    const gone = configTopic(LAYOUT, "sensor", "old_formula");
    // A formula that was numeric before and is true/false now: its old sensor config goes.
    const otherKind = configTopic(LAYOUT, "sensor", "heating_needed");
    const stale = staleEntityTopics(LAYOUT, [...kept, gone, otherKind], RULES, () => true);
    const old = entityTopics(LAYOUT, "old_formula");
    expect(stale).toEqual([[gone, old.state, old.attributes, old.availability], [otherKind]]);
  });
});
