import { afterEach, describe, expect, it } from "vitest";

import {
  brokerKinds,
  collect,
  connectClient,
  startBroker,
  type ReceivedMessage,
} from "../support/brokers.js";
import { deviceDiscoveryProblems } from "../support/discovery-validator.js";
import { startProgram, stopAllPrograms } from "../support/program.js";

/**
 * An installation of 0.1.0 (one retained discovery config per entity) upgraded to device-based
 * discovery: the built program says `migrate_discovery` on each old topic, then publishes the
 * device configs with the same unique ids, then clears the old topics, so that Home Assistant
 * keeps every entity, its entity id and its history.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await stopAllPrograms();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const RULES = [
  {
    name: "Living room temperature",
    topic: "home/livingroom/+/temperature",
    function: "mean",
    unit: "°C",
    device_class: "temperature",
  },
  { name: "Living room windows", topic: "home/livingroom/+/contact", function: "any", on_value: "false" },
  // Now on a device per room; in 0.1.0 all were on the add-on's device.
  { name: "{room} lights on", topic: "home/+room/light/+", function: "count_on", device: "{room}" },
];

/** A discovery config exactly as 0.1.0 published it. */
function legacyConfig(base: string, component: string, key: string, name: string): [string, string] {
  const root = `${base}/${key}`;
  return [
    `homeassistant/${component}/${base}/${key}/config`,
    JSON.stringify({
      name,
      unique_id: `mqtt_aggregator_${key}`,
      default_entity_id: `${component}.${key}`,
      state_topic: `${root}/state`,
      json_attributes_topic: `${root}/attributes`,
      availability: [{ topic: `${base}/status` }, { topic: `${root}/availability` }],
      availability_mode: "all",
      device: {
        identifiers: [`mqtt_aggregator_${base}`],
        name: "MQTT Aggregator",
        manufacturer: "MQTT Aggregator project",
        model: "Home Assistant add-on",
        sw_version: "0.1.0",
      },
      origin: { name: "MQTT Aggregator", sw_version: "0.1.0", support_url: "https://example.invalid" },
      ...(component === "binary_sensor" ? { payload_on: "ON", payload_off: "OFF" } : {}),
    }),
  ];
}

const componentsOf = (message: ReceivedMessage) =>
  (JSON.parse(message.payload) as { cmps: Record<string, Record<string, unknown>> }).cmps;

describe.each(brokerKinds())("migration from 0.1.0 through %s", (kind) => {
  for (const base of ["mqtt_aggregator", "upstairs"]) {
    it(`moves every entity into device configs with the same unique id (base_topic ${base})`, async () => {
      const broker = await startBroker(kind);
      cleanups.push(() => broker.stop());
      const homeAssistant = await connectClient(broker);
      cleanups.push(() => homeAssistant.endAsync(true));
      const seen = await collect(homeAssistant, "#");

      const legacy = new Map([
        legacyConfig(base, "sensor", "living_room_temperature", "Living room temperature"),
        legacyConfig(base, "binary_sensor", "living_room_windows", "Living room windows"),
        legacyConfig(base, "sensor", "room_lights_on__kitchen", "kitchen lights on"),
      ]);
      for (const [topic, payload] of legacy)
        await homeAssistant.publishAsync(topic, payload, { qos: 1, retain: true });
      await homeAssistant.publishAsync(`${base}/room_lights_on__kitchen/state`, "1", {
        qos: 1,
        retain: true,
      });
      // The devices' retained values: every entity is computed at the first read.
      for (const [topic, payload] of [
        ["home/livingroom/t1/temperature", "21.5"],
        ["home/livingroom/w1/contact", "true"],
        ["home/kitchen/light/ceiling", "ON"],
      ] as const)
        await homeAssistant.publishAsync(topic, payload, { qos: 1, retain: true });
      for (const topic of legacy.keys()) await seen.waitFor((message) => message.topic === topic);
      const startIndex = seen.messages.length;

      const program = await startProgram({
        options: {
          first_read_delay: 1,
          read_interval: 1,
          base_topic: base,
          rules: RULES,
          mqtt: { host: broker.host, port: broker.port },
        },
      });
      const after = (predicate: (message: ReceivedMessage) => boolean) =>
        seen.waitForFrom(startIndex, (message) => predicate(message), 10_000);
      const devicePrefix = `homeassistant/device/${base}/`;
      // The kitchen's device config is the last the migration needs.
      await after((message) => message.topic === `${devicePrefix}kitchen/config`);
      for (const topic of legacy.keys())
        await after((message) => message.topic === topic && message.payload === "");

      const since = seen.messages.slice(startIndex);
      const devices = since.filter(
        (message) => message.topic.startsWith(devicePrefix) && message.payload !== "",
      );
      const unique = new Map<string, string>();
      for (const device of devices) {
        expect(deviceDiscoveryProblems(device.topic, device.payload)).toEqual([]);
        for (const [key, component] of Object.entries(componentsOf(device)))
          unique.set(key, String(component["unique_id"]));
      }
      for (const [topic, payload] of legacy) {
        const key = topic.split("/").at(-2) ?? "";
        const onTopic = since.filter((message) => message.topic === topic);
        // migrate_discovery, then the clear, and nothing else on the old topic.
        expect(
          onTopic.map((message) => message.payload),
          topic,
        ).toEqual(['{"migrate_discovery":true}', ""]);
        const [migrate, clear] = onTopic as [ReceivedMessage, ReceivedMessage];
        const withEntity = since.findIndex(
          (message) => devices.includes(message) && key in componentsOf(message),
        );
        expect(since.indexOf(migrate), topic).toBeLessThan(withEntity);
        expect(since.indexOf(clear), topic).toBeGreaterThan(withEntity);
        // The same unique id, so Home Assistant keeps the entity, its entity id and its history.
        expect(unique.get(key), key).toBe((JSON.parse(payload) as { unique_id: string }).unique_id);
      }
      // The room's entity is on the room's device now, named without the room.
      const kitchen = devices.find((message) => message.topic === `${devicePrefix}kitchen/config`);
      expect(
        componentsOf(kitchen ?? { topic: "", payload: '{"cmps":{}}', retain: false })[
          "room_lights_on__kitchen"
        ],
      ).toMatchObject({
        name: "Lights on",
        default_entity_id: "sensor.kitchen_lights_on",
        state_class: "measurement",
      });

      // A restart migrates nothing more, and the unique ids stay.
      expect((await program.stop()).code).toBe(0);
      const restartIndex = seen.messages.length;
      const again = await startProgram({
        options: {
          first_read_delay: 1,
          read_interval: 1,
          base_topic: base,
          rules: RULES,
          mqtt: { host: broker.host, port: broker.port },
        },
        dataDir: program.dataDir,
      });
      const republished = await seen.waitForFrom(
        restartIndex,
        (message) => message.topic === `${devicePrefix}add-on/config`,
        10_000,
      );
      expect(componentsOf(republished)["living_room_temperature"]?.["unique_id"]).toBe(
        "mqtt_aggregator_living_room_temperature",
      );
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(seen.messages.slice(restartIndex).filter((message) => legacy.has(message.topic))).toEqual([]);
      expect(again.output()).not.toMatch(/Removed \d+ entit/);
    }, 40_000);
  }
});
