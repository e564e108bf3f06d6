/**
 * Issue 12 through a real broker: formula rules over Zigbee2MQTT and Tasmota rooms, with the
 * add-on running in this process so that time can be controlled (sources going stale take no
 * time). Each formula is checked against a value computed here, goes unavailable when an input
 * does (its device says offline, its only source goes stale) and comes back with it.
 */
import type { MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  brokerKinds,
  collect,
  connectClient,
  startBroker,
  type Collector,
  type TestBroker,
} from "../support/brokers.js";
import { deviceDiscoveryProblems } from "../support/discovery-validator.js";
import { eventually, startInProcessAddon, type InProcessAddon } from "../support/in-process-addon.js";

const BASE = "mqtt_aggregator";
const T0 = 1_800_000_000_000;
const MINUTE = 60_000;

const RULES = [
  {
    name: "{room} temperature",
    topic: "zigbee2mqtt/+room/climate",
    value_path: "temperature",
    function: "mean",
    unit: "°C",
    device_class: "temperature",
    max_age: 600,
  },
  {
    name: "{room} humidity",
    topic: "zigbee2mqtt/+room/climate",
    value_path: "humidity",
    function: "mean",
    unit: "%",
    device_class: "humidity",
    max_age: 600,
  },
  {
    name: "Outside temperature",
    topic: "tele/garden/SENSOR",
    value_path: "*.Temperature",
    function: "mean",
    unit: "°C",
    device_class: "temperature",
    max_age: 600,
  },
  {
    name: "Windows",
    topic: "zigbee2mqtt/window/+",
    value_path: "contact",
    function: "any",
    on_value: "false",
    device_class: "window",
  },
  {
    name: "Indoor outdoor difference",
    function: "formula",
    formula: "room_temperature__living_room - outside_temperature",
    unit: "°C",
    device_class: "temperature_delta",
    precision: 1,
  },
  {
    name: "{room} dew point",
    function: "formula",
    formula: "dewpoint(room_temperature, room_humidity)",
    unit: "°C",
    device_class: "temperature",
    precision: 1,
  },
  {
    name: "Weighted temperature",
    function: "formula",
    formula: "0.7 * room_temperature__living_room + 0.3 * room_temperature__bedroom",
    unit: "°C",
    device_class: "temperature",
    precision: 2,
  },
  {
    name: "Heating needed",
    function: "formula",
    formula: "room_temperature__living_room < 19 and not windows",
    device_class: "heat",
  },
];

const FORMULA_KEYS = [
  "indoor_outdoor_difference",
  "room_dew_point__living_room",
  "room_dew_point__bedroom",
  "weighted_temperature",
  "heating_needed",
];

/** The Magnus dew point (Alduchov and Eskridge's constants), written out here to check the add-on's. */
function dewPoint(temperature: number, humidity: number): number {
  const gamma = Math.log(humidity / 100) + (17.625 * temperature) / (243.04 + temperature);
  return (243.04 * gamma) / (17.625 - gamma);
}

const climate = (temperature: number, humidity: number) => JSON.stringify({ temperature, humidity });
const tasmota = (temperature: number) => JSON.stringify({ AM2301: { Temperature: temperature } });
const contact = (closed: boolean) => JSON.stringify({ contact: closed, battery: 90 });

for (const kind of brokerKinds()) {
  describe(`formulas through ${kind}`, () => {
    let broker: TestBroker;
    let devices: MqttClient;
    let observer: MqttClient;
    let published: Collector;
    let configs: Collector;
    let running: InProcessAddon | undefined;
    const retained = new Set<string>();

    beforeAll(async () => {
      broker = await startBroker(kind);
      devices = await connectClient(broker);
      observer = await connectClient(broker);
      published = await collect(observer, `${BASE}/#`);
      configs = await collect(observer, "homeassistant/#");
    });

    afterEach(async () => {
      await running?.stop();
      running = undefined;
      for (const topic of retained) await devices.publishAsync(topic, "", { retain: true, qos: 1 });
      retained.clear();
    });

    afterAll(async () => {
      published.stop();
      configs.stop();
      await Promise.all([devices.endAsync(), observer.endAsync()]);
      await broker.stop();
    });

    const publish = (topic: string, payload: string) => {
      retained.add(topic);
      return devices.publishAsync(topic, payload, { retain: true, qos: 1 });
    };

    async function start(clock?: { now: () => number }): Promise<{ addon: InProcessAddon; from: number }> {
      const from = published.messages.length;
      running = await startInProcessAddon(
        broker,
        { rules: RULES, first_read_delay: 3_600, read_interval: 180, log_level: "debug" },
        clock,
      );
      const addon = running;
      await eventually(() => addon.addon.store.trackedTopicCount >= retained.size, "the devices' topics");
      // Device configs go out with the start-up announcement, after the retained ones are looked at.
      await eventually(
        () => addon.lines.some((line) => line.includes("Announced")),
        "the announcement",
        8_000,
      );
      return { addon, from };
    }

    /**
     * What Home Assistant shows for an entity now, from what the add-on has published since `from`:
     * its state, or "unavailable". The publisher sends only what changed, in any order of flushes
     * and reads, so the latest message of each topic is what counts.
     */
    function shown(from: number, key: string): string | undefined {
      let state: string | undefined;
      let available: string | undefined;
      for (const message of published.messages.slice(from)) {
        if (message.topic === `${BASE}/${key}/state`) state = message.payload;
        if (message.topic === `${BASE}/${key}/availability`) available = message.payload;
      }
      if (available === "offline") return "unavailable";
      return available === "online" ? state : undefined;
    }

    function attributes(from: number, key: string): Record<string, unknown> {
      const message = published.messages
        .slice(from)
        .findLast((each) => each.topic === `${BASE}/${key}/attributes`);
      return message === undefined ? {} : (JSON.parse(message.payload) as Record<string, unknown>);
    }

    async function expectShown(from: number, expected: Record<string, string>): Promise<void> {
      const now = () => Object.fromEntries(Object.keys(expected).map((key) => [key, shown(from, key)]));
      await eventually(
        () => JSON.stringify(now()) === JSON.stringify(expected),
        `${JSON.stringify(expected)}, showing ${JSON.stringify(now())}`,
      );
    }

    it("computes a difference, dew points per room, a weighted mean and heating needed; each goes unavailable with an input and comes back", async () => {
      let time = T0;
      await publish("zigbee2mqtt/living_room/climate", climate(18, 50));
      await publish("zigbee2mqtt/living_room/climate/availability", "online");
      await publish("zigbee2mqtt/bedroom/climate", climate(21, 60));
      await publish("tele/garden/SENSOR", tasmota(4.5));
      await publish("zigbee2mqtt/window/kitchen", contact(true));
      const { addon, from } = await start({ now: () => time });
      await addon.addon.readNow();
      const correct = {
        indoor_outdoor_difference: "13.5",
        room_dew_point__living_room: dewPoint(18, 50).toFixed(1),
        room_dew_point__bedroom: dewPoint(21, 60).toFixed(1),
        weighted_temperature: (0.7 * 18 + 0.3 * 21).toFixed(2),
        heating_needed: "ON",
      };
      expect(correct).toMatchObject({ room_dew_point__living_room: "7.4", room_dew_point__bedroom: "12.9" });
      await expectShown(from, correct);
      expect(attributes(from, "heating_needed")).toMatchObject({
        function: "formula",
        formula: "room_temperature__living_room < 19 and not windows",
        sources: { room_temperature__living_room: 18, windows: false },
        not_counted: {},
      });

      // Home Assistant accepts each formula entity's config: sensors, and a binary sensor for heating needed.
      for (const key of FORMULA_KEYS) {
        const config = configs.messages.findLast(
          (message) =>
            /^homeassistant\/device\//.test(message.topic) &&
            message.payload !== "" &&
            key in ((JSON.parse(message.payload) as { cmps?: object }).cmps ?? {}),
        );
        expect(config, key).toBeDefined();
        const component = (JSON.parse(config?.payload ?? "{}") as { cmps: Record<string, { p: string }> })
          .cmps[key];
        expect(component?.p, key).toBe(key === "heating_needed" ? "binary_sensor" : "sensor");
        expect(deviceDiscoveryProblems(config?.topic ?? "", config?.payload ?? ""), key).toEqual([]);
      }

      // The living room's sensor says it is offline: every formula using it goes unavailable, saying why.
      await publish("zigbee2mqtt/living_room/climate/availability", "offline");
      await eventually(
        () => addon.addon.store.read(time).values.some((value) => value.counts.offline > 0),
        "the living room to be offline",
      );
      await addon.addon.readNow();
      await expectShown(from, {
        ...correct,
        indoor_outdoor_difference: "unavailable",
        room_dew_point__living_room: "unavailable",
        weighted_temperature: "unavailable",
        heating_needed: "unavailable",
      });
      expect(attributes(from, "indoor_outdoor_difference")).toMatchObject({
        sources: { outside_temperature: 4.5 },
        not_counted: { room_temperature__living_room: "unavailable: 0 inputs count, needs 1 (1 offline)" },
        unavailable_because:
          "room_temperature__living_room is unavailable: 0 inputs count, needs 1 (1 offline)",
      });
      expect(attributes(from, "room_dew_point__living_room")).toMatchObject({
        not_counted: {
          room_temperature: "unavailable: 0 inputs count, needs 1 (1 offline)",
          room_humidity: "unavailable: 0 inputs count, needs 1 (1 offline)",
        },
      });

      // Back online: back to the same values.
      await publish("zigbee2mqtt/living_room/climate/availability", "online");
      await eventually(
        () => addon.addon.store.read(time).values.every((value) => value.counts.offline === 0),
        "the living room to be online",
      );
      await addon.addon.readNow();
      await expectShown(from, correct);

      // Eleven minutes later the rooms have reported again, the garden has not: its only source is stale.
      time += 11 * MINUTE;
      await publish("zigbee2mqtt/living_room/climate", climate(20, 50));
      await publish("zigbee2mqtt/bedroom/climate", climate(21, 60));
      await eventually(
        () => addon.addon.store.read(time).values.filter((value) => value.counts.counted > 0).length >= 4,
        "the rooms' new readings",
      );
      await addon.addon.readNow();
      const later = {
        indoor_outdoor_difference: "unavailable",
        room_dew_point__living_room: dewPoint(20, 50).toFixed(1),
        room_dew_point__bedroom: dewPoint(21, 60).toFixed(1),
        weighted_temperature: (0.7 * 20 + 0.3 * 21).toFixed(2),
        heating_needed: "OFF",
      };
      await expectShown(from, later);
      expect(attributes(from, "indoor_outdoor_difference")).toMatchObject({
        sources: { room_temperature__living_room: 20 },
        not_counted: { outside_temperature: "unavailable: 0 inputs count, needs 1 (1 stale)" },
      });

      // The garden reports again: the difference is back.
      await publish("tele/garden/SENSOR", tasmota(5));
      await eventually(
        () =>
          addon.addon.store
            .read(time)
            .values.find((value) => value.identity.entityKey === "outside_temperature")?.state.kind ===
          "number",
        "the garden's new reading",
      );
      await addon.addon.readNow();
      await expectShown(from, { ...later, indoor_outdoor_difference: "15.0" });
    });

    it("follows a window opening within a second with update: change", async () => {
      await publish("zigbee2mqtt/living_room/climate", climate(18, 50));
      await publish("zigbee2mqtt/bedroom/climate", climate(21, 60));
      await publish("tele/garden/SENSOR", tasmota(4.5));
      await publish("zigbee2mqtt/window/kitchen", contact(true));
      const { addon, from } = await start();
      await eventually(
        () => addon.lines.some((line) => line.includes("Announced")),
        "the announcement",
        8_000,
      );
      await addon.addon.readNow();
      await expectShown(from, { heating_needed: "ON" });

      const opened = published.messages.length;
      const sentAt = Date.now();
      await publish("zigbee2mqtt/window/kitchen", contact(false));
      const off = await published.waitForFrom(
        opened,
        (message) => message.topic === `${BASE}/heating_needed/state` && message.payload === "OFF",
        1_000,
      );
      expect(off.payload).toBe("OFF");
      expect(Date.now() - sentAt).toBeLessThan(1_000);
      expect(attributes(opened, "heating_needed")).toMatchObject({
        sources: { room_temperature__living_room: 18, windows: true },
      });
      // Only the window and what follows it are published; the other formulas wait for their reads.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const changed = new Set(published.messages.slice(opened).map((message) => message.topic.split("/")[1]));
      expect([...changed].sort()).toEqual(["heating_needed", "windows"]);
    });
  });
}
