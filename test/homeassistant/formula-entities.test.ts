import { describe, expect, it } from "vitest";
import { identify } from "../../src/core/entity-group.js";
import {
  componentConfig,
  componentOf,
  deviceBlock,
  deviceConfigMessage,
  originBlock,
} from "../../src/homeassistant/discovery-payloads.js";
import { deviceOf } from "../../src/homeassistant/devices.js";
import {
  deviceConfigTopic,
  entityTopics,
  legacyConfigTopic,
  type TopicLayout,
} from "../../src/homeassistant/entity-topics.js";
import { planDiscovery } from "../../src/homeassistant/stale-entities.js";
import { deviceDiscoveryProblems } from "../support/discovery-validator.js";
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
  /** The entity's component, in a device config of its own, as the publisher sends it. */
  function configOf(key: string, captures: string[]) {
    const rule = ruleOf(key);
    const identity = identify(rule, captures, () => false);
    const component = componentConfig(LAYOUT, rule, identity, `mqtt_aggregator_${identity.entityKey}`);
    const device = deviceOf(LAYOUT, identity);
    const message = deviceConfigMessage(
      LAYOUT,
      device.id,
      deviceBlock(device, ADDON),
      originBlock(ADDON),
      new Map([[identity.entityKey, component]]),
    );
    return { rule, component, message };
  }

  it("are sensors, or binary sensors for a true/false formula, with configs Home Assistant accepts", () => {
    const cases: [string, string[], "sensor" | "binary_sensor"][] = [
      ["indoor_outdoor_difference", [], "sensor"],
      ["heating_needed", [], "binary_sensor"],
      ["room_dew_point", ["kitchen"], "sensor"],
    ];
    for (const [key, captures, platform] of cases) {
      const { rule, component, message } = configOf(key, captures);
      expect(componentOf(rule), key).toBe(platform);
      expect(component["p"], key).toBe(platform);
      expect(deviceDiscoveryProblems(message.topic, message.payload), key).toEqual([]);
    }
    const { component: heating } = configOf("heating_needed", []);
    expect(heating).toMatchObject({ device_class: "heat", payload_on: "ON", payload_off: "OFF" });
    expect(heating).not.toHaveProperty("unit_of_measurement");
  });

  it("are kept by the cleanup of stale entities, as entities of current rules", () => {
    const kept = [
      legacyConfigTopic(LAYOUT, "sensor", "indoor_outdoor_difference"),
      legacyConfigTopic(LAYOUT, "binary_sensor", "heating_needed"),
      legacyConfigTopic(LAYOUT, "sensor", "room_dew_point__kitchen"),
    ];
    const gone = legacyConfigTopic(LAYOUT, "sensor", "old_formula");
    // A formula that was numeric before and is true/false now: its old sensor config goes.
    const otherKind = legacyConfigTopic(LAYOUT, "sensor", "heating_needed");
    const placeholder = (name: string) => JSON.stringify({ name, unique_id: `placeholder_${name}` });
    const retained = new Map([...kept, gone, otherKind].map((topic) => [topic, placeholder(topic)]));
    const plan = planDiscovery(LAYOUT, retained, RULES, () => true);
    const old = entityTopics(LAYOUT, "old_formula");
    expect(plan.stale).toContainEqual([gone, old.state, old.attributes, old.availability]);
    expect(plan.stale.some((topics) => topics.includes(otherKind))).toBe(true);
    expect(plan.stale.some((topics) => topics.some((topic) => kept.includes(topic)))).toBe(false);
    expect([...plan.legacy.keys()].sort()).toEqual([
      "heating_needed",
      "indoor_outdoor_difference",
      "room_dew_point__kitchen",
    ]);
    expect(deviceConfigTopic(LAYOUT, "add-on")).toBe("homeassistant/device/mqtt_aggregator/add-on/config");
  });
});
