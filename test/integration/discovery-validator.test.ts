import { describe, expect, it } from "vitest";

import { deviceDiscoveryProblems, discoveryProblems } from "../support/discovery-validator.js";

/** The validator the program tests rely on must itself reject what Home Assistant rejects. */

const TOPIC = "homeassistant/sensor/mqtt_aggregator/living_room_temperature/config";
const BINARY_TOPIC = "homeassistant/binary_sensor/mqtt_aggregator/living_room_windows/config";

const SENSOR = {
  name: "Living room temperature",
  unique_id: "mqtt_aggregator_living_room_temperature",
  default_entity_id: "sensor.living_room_temperature",
  state_topic: "mqtt_aggregator/living_room_temperature/state",
  json_attributes_topic: "mqtt_aggregator/living_room_temperature/attributes",
  availability: [
    { topic: "mqtt_aggregator/status" },
    { topic: "mqtt_aggregator/living_room_temperature/availability" },
  ],
  availability_mode: "all",
  device: { identifiers: ["mqtt_aggregator_mqtt_aggregator"], name: "MQTT Aggregator", sw_version: "0.1.0" },
  origin: { name: "MQTT Aggregator", sw_version: "0.1.0", support_url: "https://example.invalid" },
  unit_of_measurement: "°C",
  device_class: "temperature",
  state_class: "measurement",
};

const BINARY = {
  ...Object.fromEntries(
    Object.entries(SENSOR).filter(([key]) => !["unit_of_measurement", "state_class"].includes(key)),
  ),
  name: "Living room windows",
  default_entity_id: "binary_sensor.living_room_windows",
  device_class: "window",
  payload_on: "ON",
  payload_off: "OFF",
};

const problems = (config: object, topic = TOPIC) => discoveryProblems(topic, JSON.stringify(config));

describe("discoveryProblems", () => {
  it("accepts the configs the add-on means to publish", () => {
    expect(problems(SENSOR)).toEqual([]);
    expect(problems(BINARY, BINARY_TOPIC)).toEqual([]);
  });

  it("rejects topics with characters Home Assistant's discovery does not match", () => {
    expect(
      discoveryProblems("homeassistant/sensor/mqtt aggregator/x/config", JSON.stringify(SENSOR)),
    ).toHaveLength(1);
    expect(
      discoveryProblems("homeassistant/sensor/mqtt_aggregator/x.y/config", JSON.stringify(SENSOR)),
    ).toHaveLength(1);
    expect(
      discoveryProblems("homeassistant/light/mqtt_aggregator/x/config", JSON.stringify(SENSOR)),
    ).toHaveLength(1);
  });

  it("rejects unknown keys in device, origin and availability", () => {
    expect(problems({ ...SENSOR, device: { ...SENSOR.device, version: "1" } })).toEqual([
      'unknown device key "version"',
    ]);
    expect(problems({ ...SENSOR, origin: { ...SENSOR.origin, url: "x" } })).toEqual([
      'unknown origin key "url"',
    ]);
    expect(problems({ ...SENSOR, availability: [{ topic: "a", payload: "online" }] })).toEqual([
      'unknown availability[0] key "payload"',
    ]);
  });

  it("requires name, unique_id, state_topic and a device identifier", () => {
    const rest = Object.fromEntries(
      Object.entries(SENSOR).filter(([key]) => !["name", "unique_id", "state_topic"].includes(key)),
    );
    expect(problems(rest)).toHaveLength(3);
    expect(problems({ ...SENSOR, device: { name: "x" } })).toEqual([
      "device needs identifiers or connections",
    ]);
  });

  it("checks default_entity_id, object_id, availability_mode and units", () => {
    expect(problems({ ...SENSOR, default_entity_id: "binary_sensor.x" })).toHaveLength(1);
    expect(problems({ ...SENSOR, default_entity_id: "sensor.room__kitchen" })).toHaveLength(1);
    expect(problems({ ...SENSOR, default_entity_id: "sensor.Kitchen" })).toHaveLength(1);
    expect(problems({ ...SENSOR, object_id: "x" })).toContain(
      '"object_id" is deprecated; use default_entity_id',
    );
    expect(problems({ ...SENSOR, availability_mode: "any" })).toHaveLength(1);
    expect(problems({ ...SENSOR, unit_of_measurement: "C" })).toHaveLength(1);
    expect(problems({ ...BINARY, payload_on: "on" }, BINARY_TOPIC)).toHaveLength(1);
    expect(problems({ ...BINARY, unit_of_measurement: "%" }, BINARY_TOPIC)).toHaveLength(2);
  });
});

/** A copy of `record` without `keys`. */
function without(record: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key)));
}

const DEVICE_TOPIC = "homeassistant/device/mqtt_aggregator/living_room/config";
const { device: DEVICE, origin: ORIGIN } = SENSOR;
const SENSOR_COMPONENT = without(SENSOR, "device", "origin");
const BINARY_COMPONENT = without(BINARY, "device", "origin");
const DEVICE_CONFIG = {
  dev: { ...DEVICE, identifiers: ["mqtt_aggregator.mqtt_aggregator.living_room"], name: "Living room" },
  o: ORIGIN,
  cmps: {
    living_room_temperature: { p: "sensor", ...SENSOR_COMPONENT, name: "Temperature" },
    living_room_windows: { p: "binary_sensor", ...BINARY_COMPONENT, name: "Windows" },
  },
};
const deviceProblems = (config: object, topic = DEVICE_TOPIC) =>
  deviceDiscoveryProblems(topic, JSON.stringify(config));

describe("deviceDiscoveryProblems (device-based discovery)", () => {
  it("accepts the device configs the add-on means to publish, and an empty payload (a removal)", () => {
    expect(deviceProblems(DEVICE_CONFIG)).toEqual([]);
    expect(
      deviceProblems({ ...DEVICE_CONFIG, dev: DEVICE_CONFIG.dev, origin: undefined, o: ORIGIN }),
    ).toEqual([]);
    expect(deviceDiscoveryProblems(DEVICE_TOPIC, "")).toEqual([]);
  });

  it("needs the device and the origin at the root, and the components as a non-empty mapping", () => {
    const withoutDevice = without(DEVICE_CONFIG, "dev");
    const withoutOrigin = without(DEVICE_CONFIG, "o");
    expect(deviceProblems(withoutDevice)).toEqual(["device (dev) is required and must be an object"]);
    expect(deviceProblems(withoutOrigin)).toContain("origin (o) is required and must be an object");
    expect(deviceProblems({ ...DEVICE_CONFIG, cmps: {} })).toEqual([
      "components (cmps) must be a non-empty mapping",
    ]);
    expect(deviceProblems({ ...DEVICE_CONFIG, colour: "red" })).toHaveLength(1);
  });

  it("needs a platform and a unique id per component, and no device or origin of its own", () => {
    const withoutPlatform = without(DEVICE_CONFIG.cmps.living_room_temperature, "p");
    expect(deviceProblems({ ...DEVICE_CONFIG, cmps: { a: withoutPlatform } })).toEqual([
      "cmps.a: the platform (p) is required",
    ]);
    const withoutId = without(DEVICE_CONFIG.cmps.living_room_temperature, "unique_id");
    expect(deviceProblems({ ...DEVICE_CONFIG, cmps: { a: withoutId } })).toContain(
      "cmps.a: unique_id is required",
    );
    expect(
      deviceProblems({
        ...DEVICE_CONFIG,
        cmps: { a: { ...DEVICE_CONFIG.cmps.living_room_temperature, dev: DEVICE } },
      }),
    ).toContain('cmps.a: "dev" cannot be set per component');
  });

  it("checks each component as Home Assistant's single-component schema does", () => {
    const wrongUnit = { ...DEVICE_CONFIG.cmps.living_room_temperature, unit_of_measurement: "C" };
    expect(deviceProblems({ ...DEVICE_CONFIG, cmps: { a: wrongUnit } })).toEqual([
      'cmps.a: a temperature sensor needs unit °C, °F or K, not "C"',
    ]);
    const wrongDomain = { ...DEVICE_CONFIG.cmps.living_room_windows, default_entity_id: "sensor.windows" };
    expect(deviceProblems({ ...DEVICE_CONFIG, cmps: { a: wrongDomain } })).toHaveLength(1);
    expect(
      deviceProblems({ ...DEVICE_CONFIG, dev: { ...DEVICE_CONFIG.dev, area: "Living room" } }).every(
        (problem) => problem.endsWith('unknown device key "area"'),
      ),
    ).toBe(true);
    const badIcon = { ...DEVICE_CONFIG.cmps.living_room_windows, icon: "window" };
    expect(deviceProblems({ ...DEVICE_CONFIG, cmps: { a: badIcon } })).toEqual([
      'cmps.a: icon "window" is not prefix:name',
    ]);
  });

  it("lets an entity take its device's name (name null), but not without one", () => {
    const unnamed = { ...DEVICE_CONFIG.cmps.living_room_windows, name: null };
    expect(deviceProblems({ ...DEVICE_CONFIG, cmps: { a: unnamed } })).toEqual([]);
    const nameless = without(DEVICE_CONFIG.dev, "name");
    expect(deviceProblems({ ...DEVICE_CONFIG, dev: nameless, cmps: { a: unnamed } })).toEqual([
      'cmps.a: "name" is null, but the device has no name to take',
    ]);
  });

  it("rejects device topics with characters Home Assistant's discovery does not match", () => {
    expect(
      deviceProblems(DEVICE_CONFIG, "homeassistant/device/mqtt_aggregator/living room/config"),
    ).toHaveLength(1);
  });
});
