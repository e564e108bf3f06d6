import { describe, expect, it } from "vitest";

import { discoveryProblems } from "../support/discovery-validator.js";

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
