import { describe, expect, it } from "vitest";

import { ReadingsStore } from "../../src/core/readings-store.js";
import { EntityPublisher } from "../../src/homeassistant/entity-publisher.js";
import { planDiscovery } from "../../src/homeassistant/stale-entities.js";
import { deviceDiscoveryProblems } from "../support/discovery-validator.js";
import { compile, type RuleJson } from "../support/rules.js";

/**
 * Device-based discovery as the publisher sends it: one config per device, entities named as
 * Home Assistant's naming rules want, unique ids that stay what they were, and 0.1.0's per-entity
 * configs migrated in the order Home Assistant documents.
 */

const T0 = 1_000_000;
const ADDON = { version: "0.2.0", supportUrl: "https://example.invalid/support" };

interface Sent {
  readonly topic: string;
  readonly payload: string;
}

function setUp(rules: readonly RuleJson[], options: { baseTopic?: string; configurationUrl?: string } = {}) {
  const baseTopic = options.baseTopic ?? "mqtt_aggregator";
  const layout = { discoveryPrefix: "homeassistant", baseTopic };
  const compiled = compile(rules, { base_topic: baseTopic });
  const store = new ReadingsStore(compiled);
  const sent: Sent[] = [];
  const publisher = new EntityPublisher({
    layout,
    addon: ADDON,
    rules: compiled,
    publish: (topic, payload) => {
      sent.push({ topic, payload });
      return Promise.resolve(true);
    },
    device: { configurationUrl: options.configurationUrl },
  });
  // As on a connection: the first announcement, then reads.
  let announced = false;
  const read = async () => {
    if (!announced) {
      announced = true;
      await publisher.announce([]);
    }
    const { values } = store.read(T0);
    await publisher.publishDerived(values.map((derived) => ({ derived })));
  };
  return { layout, compiled, store, sent, publisher, read };
}

const deviceConfigs = (sent: readonly Sent[]) =>
  sent.filter((message) => message.topic.startsWith("homeassistant/device/"));
const parsed = (message: Sent | undefined) =>
  JSON.parse(message?.payload ?? "{}") as {
    dev: Record<string, unknown>;
    o: Record<string, unknown>;
    cmps: Record<string, Record<string, unknown>>;
  };

const ROOMS_TEMPERATURE = {
  name: "{room} temperature",
  topic: "home/+room/temperature",
  function: "mean",
  unit: "°C",
  device_class: "temperature",
  device: "{room}",
};
const ROOMS_LIGHTS = {
  name: "{room} lights on",
  topic: "home/+room/light/+",
  function: "count_on",
  device: "{room}",
  icon: "mdi:lightbulb-group",
};

describe("device-based discovery", () => {
  it("puts the entities of a room on the room's device, named without the device's name", async () => {
    const { store, sent, read } = setUp([ROOMS_TEMPERATURE, ROOMS_LIGHTS]);
    store.ingest("home/Living room/temperature", "21.5", T0);
    store.ingest("home/Living room/light/a", "ON", T0);
    store.ingest("home/kitchen/temperature", "19", T0);
    await read();
    const configs = deviceConfigs(sent);
    expect(configs.map((message) => message.topic).sort()).toEqual([
      "homeassistant/device/mqtt_aggregator/kitchen/config",
      "homeassistant/device/mqtt_aggregator/living_room/config",
    ]);
    for (const message of configs)
      expect(deviceDiscoveryProblems(message.topic, message.payload)).toEqual([]);
    const living = parsed(configs.find((message) => message.topic.includes("living_room")));
    expect(living.dev).toMatchObject({
      identifiers: ["mqtt_aggregator.mqtt_aggregator.living_room"],
      name: "Living room",
      suggested_area: "Living room",
    });
    expect(living.dev).not.toHaveProperty("configuration_url");
    expect(living.o).toEqual({ name: "MQTT Aggregator", sw_version: "0.2.0", support_url: ADDON.supportUrl });
    expect(living.cmps["room_temperature__living_room"]).toMatchObject({
      p: "sensor",
      name: "Temperature",
      unique_id: "mqtt_aggregator_room_temperature__living_room",
      default_entity_id: "sensor.living_room_temperature",
      state_topic: "mqtt_aggregator/room_temperature__living_room/state",
    });
    expect(living.cmps["room_lights_on__living_room"]).toMatchObject({
      p: "sensor",
      name: "Lights on",
      state_class: "measurement",
      icon: "mdi:lightbulb-group",
      default_entity_id: "sensor.living_room_lights_on",
    });
    // Each device's config comes before the states of its entities.
    const firstState = sent.findIndex((message) => message.topic.endsWith("/state"));
    expect(sent.findIndex((message) => message.topic.startsWith("homeassistant/device/"))).toBeLessThan(
      firstState,
    );
  });

  it("keeps rules without a device on the add-on's device, with their whole names and 0.1.0's ids", async () => {
    const { sent, read } = setUp([
      { name: "Living room windows", topic: "w/+", function: "any", device_class: "window" },
    ]);
    await read();
    const [config] = deviceConfigs(sent);
    expect(config?.topic).toBe("homeassistant/device/mqtt_aggregator/add-on/config");
    const payload = parsed(config);
    expect(payload.dev).toMatchObject({
      identifiers: ["mqtt_aggregator_mqtt_aggregator"],
      name: "MQTT Aggregator",
    });
    expect(payload.dev).not.toHaveProperty("suggested_area");
    expect(payload.cmps["living_room_windows"]).toMatchObject({
      p: "binary_sensor",
      name: "Living room windows",
      unique_id: "mqtt_aggregator_living_room_windows",
      default_entity_id: "binary_sensor.living_room_windows",
    });
  });

  it("gives a device with one entity of the same name the device's name alone", async () => {
    const { store, sent, read } = setUp([
      {
        name: "{room}",
        topic: "t/+room",
        function: "mean",
        unit: "°C",
        device_class: "temperature",
        device: "{room}",
      },
    ]);
    store.ingest("t/Attic", "12", T0);
    await read();
    const config = deviceConfigs(sent)[0];
    expect(deviceDiscoveryProblems(config?.topic ?? "", config?.payload ?? "")).toEqual([]);
    expect(Object.values(parsed(config).cmps)[0]?.["name"]).toBeNull();
  });

  it("puts the instance in the unique ids of any instance but the default one, and the status page on the device", async () => {
    const { sent, read } = setUp(
      [{ name: "Power", topic: "p/+", function: "sum", unit: "W", device_class: "power" }],
      {
        baseTopic: "upstairs",
        configurationUrl: "http://homeassistant.local:8123/hassio/ingress/mqtt_aggregator",
      },
    );
    await read();
    const payload = parsed(deviceConfigs(sent)[0]);
    expect(payload.cmps["power"]?.["unique_id"]).toBe("mqtt_aggregator.upstairs.power");
    expect(payload.dev).toMatchObject({
      identifiers: ["mqtt_aggregator_upstairs"],
      configuration_url: "http://homeassistant.local:8123/hassio/ingress/mqtt_aggregator",
    });
  });

  it("sends a device's config again only when one of its entities is new", async () => {
    const { store, sent, read } = setUp([ROOMS_TEMPERATURE]);
    store.ingest("home/kitchen/temperature", "19", T0);
    await read();
    await read();
    expect(deviceConfigs(sent)).toHaveLength(1);
    store.ingest("home/hall/temperature", "18", T0);
    await read();
    expect(deviceConfigs(sent).map((message) => message.topic)).toEqual([
      "homeassistant/device/mqtt_aggregator/kitchen/config",
      "homeassistant/device/mqtt_aggregator/hall/config",
    ]);
  });

  it("keeps 500 entities within a few messages of a size Home Assistant and Mosquitto take", async () => {
    // One rule per room and 500 rooms: 500 devices of one entity each; and 500 entities of one
    // fanned-out rule without a device: one device config of them all.
    const perRoom = setUp([ROOMS_TEMPERATURE]);
    const oneDevice = setUp([{ ...ROOMS_TEMPERATURE, device: undefined }]);
    for (let index = 0; index < 500; index += 1) {
      perRoom.store.ingest(`home/room ${index}/temperature`, "20", T0);
      oneDevice.store.ingest(`home/room ${index}/temperature`, "20", T0);
    }
    await perRoom.read();
    await oneDevice.read();
    expect(deviceConfigs(perRoom.sent)).toHaveLength(500);
    const [all] = deviceConfigs(oneDevice.sent);
    expect(deviceConfigs(oneDevice.sent)).toHaveLength(1);
    expect(Object.keys(parsed(all).cmps)).toHaveLength(500);
    // Far below MQTT's 256 MB, Mosquitto's default (no limit) and what Home Assistant parses at once.
    expect(all?.payload.length).toBeLessThan(400_000);
    expect(deviceDiscoveryProblems(all?.topic ?? "", all?.payload ?? "")).toEqual([]);
  });
});

describe("migration from 0.1.0's per-entity configs", () => {
  const LEGACY_TOPIC = "homeassistant/sensor/mqtt_aggregator/living_room_temperature/config";
  const LEGACY = JSON.stringify({
    name: "Living room temperature",
    unique_id: "mqtt_aggregator_living_room_temperature",
    default_entity_id: "sensor.living_room_temperature",
    state_topic: "mqtt_aggregator/living_room_temperature/state",
    device: { identifiers: ["mqtt_aggregator_mqtt_aggregator"], name: "MQTT Aggregator" },
  });
  const RULE = { name: "Living room temperature", topic: "t/+", function: "mean" };

  it("says migrate_discovery on the old topic, then sends the device config with the same unique id, then clears the old topic", async () => {
    const { layout, compiled, sent, publisher, store, read } = setUp([RULE]);
    const plan = planDiscovery(layout, new Map([[LEGACY_TOPIC, LEGACY]]), compiled, () => false);
    expect(plan.stale).toEqual([]);
    publisher.adopt(plan);
    await publisher.announce(store.entities());
    await read();
    const onLegacy = sent
      .filter((message) => message.topic === LEGACY_TOPIC)
      .map((message) => message.payload);
    expect(onLegacy).toEqual(['{"migrate_discovery":true}', ""]);
    const order = sent.map((message) => message.topic);
    const device = order.indexOf("homeassistant/device/mqtt_aggregator/add-on/config");
    expect(order.indexOf(LEGACY_TOPIC)).toBeLessThan(device);
    expect(order.lastIndexOf(LEGACY_TOPIC)).toBeGreaterThan(device);
    expect(parsed(sent[device]).cmps["living_room_temperature"]?.["unique_id"]).toBe(
      "mqtt_aggregator_living_room_temperature",
    );
  });

  it("keeps the unique id a second instance's entity had in 0.1.0", async () => {
    const legacyTopic = "homeassistant/sensor/upstairs/living_room_temperature/config";
    const { layout, compiled, sent, publisher, store } = setUp([RULE], { baseTopic: "upstairs" });
    publisher.adopt(planDiscovery(layout, new Map([[legacyTopic, LEGACY]]), compiled, () => false));
    await publisher.announce(store.entities());
    const config = sent.find((message) => message.topic === "homeassistant/device/upstairs/add-on/config");
    expect(parsed(config).cmps["living_room_temperature"]?.["unique_id"]).toBe(
      "mqtt_aggregator_living_room_temperature",
    );
  });

  it("removes what no rule makes any more, naming it, and carries over what it cannot compute yet", () => {
    const { layout, compiled } = setUp([ROOMS_TEMPERATURE]);
    const deviceTopic = "homeassistant/device/mqtt_aggregator/attic/config";
    const plan = planDiscovery(
      layout,
      new Map([
        ["homeassistant/sensor/mqtt_aggregator/old_rule/config", JSON.stringify({ name: "Old rule" })],
        [
          deviceTopic,
          JSON.stringify({
            dev: { identifiers: ["x"], name: "Attic" },
            o: { name: "MQTT Aggregator" },
            cmps: {
              room_temperature__attic: {
                p: "sensor",
                name: "Temperature",
                unique_id: "mqtt_aggregator_room_temperature__attic",
              },
              gone__attic: { p: "sensor", name: "Gone", unique_id: "u" },
            },
          }),
        ],
      ]),
      compiled,
      (key) => key === "room_temperature__attic",
    );
    expect(plan.removedNames).toEqual(["Old rule", "Gone"]);
    expect(plan.stale.map((topics) => topics[0])).toEqual([
      "homeassistant/sensor/mqtt_aggregator/old_rule/config",
      "mqtt_aggregator/gone__attic/state",
    ]);
    expect([...(plan.carried.get("attic")?.components.keys() ?? [])]).toEqual(["room_temperature__attic"]);
  });
});

describe("a first read of many entities published in slices", () => {
  it("sends each device's config once when the entities are introduced first", async () => {
    const { store, sent, publisher } = setUp([
      { name: "Sensor {sensor}", topic: "s/+sensor", function: "last" },
    ]);
    for (let index = 0; index < 100; index += 1) store.ingest(`s/n${index}`, String(index), T0);
    await publisher.announce([]);
    const { values } = store.read(T0);
    const before = deviceConfigs(sent).length;
    await publisher.introduce(values.map((value) => value.identity));
    for (let at = 0; at < values.length; at += 20)
      await publisher.publishDerived(values.slice(at, at + 20).map((derived) => ({ derived })));
    const configs = deviceConfigs(sent).slice(before);
    expect(configs).toHaveLength(1);
    expect(Object.keys(parsed(configs[0]).cmps)).toHaveLength(100);
  });
});
