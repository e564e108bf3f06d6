/**
 * Issue 10 through a real broker: one rule over a room of mixed firmwares, device availability
 * from the devices' own topics (retained before the add-on starts, too), and °F next to °C.
 * The add-on runs in this process so that time can be controlled: a day of silence takes no time.
 */
import type { MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  brokerKinds,
  collect,
  connectClient,
  startBroker,
  type Collector,
  type ReceivedMessage,
  type TestBroker,
} from "../support/brokers.js";
import { eventually, startInProcessAddon, type InProcessAddon } from "../support/in-process-addon.js";

const T0 = 1_800_000_000_000;
const DAY = 86_400_000;
const BASE = "mqtt_aggregator";

const RULES = [
  {
    name: "Living room temperature",
    topic: "tele/+/SENSOR, zigbee2mqtt/livingroom/+, +/status/temperature:0",
    value_path: "*.Temperature, !ESP32.Temperature, temperature, tC",
    function: "mean",
    unit: "°C",
    device_class: "temperature",
    precision: 2,
  },
  {
    name: "Lights on",
    topic: "stat/+/POWER, zigbee2mqtt/+",
    value_path: "state, $",
    function: "count_on",
  },
  {
    // As the firmwares say "open": Zigbee2MQTT's contact false, ESPHome's ON, a Shelly Gen1 door sensor's "open".
    name: "Windows",
    topic: "zigbee2mqtt/window/+, hall/binary_sensor/+/state, shellies/+/sensor/state",
    value_path: "contact, $",
    function: "any",
    on_value: "false, ON, open",
    device_class: "window",
  },
  {
    // Tasmota's POWER, Zigbee2MQTT's and ESPHome's state, Shelly Gen2's output.
    name: "Lamps on",
    topic: "stat/+/POWER, zigbee2mqtt/lamp/+, hall/light/+/state, +/status/switch:0",
    value_path: "state, output, $",
    function: "count_on",
    on_value: "ON, true",
  },
  {
    name: "US and EU temperature",
    topic: "tele/us/SENSOR, rtl_433/+/+, zigbee2mqtt/hall",
    value_path: "*.Temperature, temperature_F in °F, temperature",
    function: "mean",
    unit: "°C",
    min_value: -40,
    max_value: 60,
    precision: 1,
  },
  {
    name: "Shelly temperatures",
    topic: "shellies/+/ext_temperature/+",
    function: "mean",
    unit: "°C",
    min_value: -40,
    max_value: 60,
  },
];

for (const kind of brokerKinds()) {
  describe(`a mixed room through ${kind}`, () => {
    let broker: TestBroker;
    let devices: MqttClient;
    let observer: MqttClient;
    let published: Collector;
    let running: InProcessAddon | undefined;
    let time = T0;
    const clock = { now: () => time };

    beforeAll(async () => {
      broker = await startBroker(kind);
      devices = await connectClient(broker);
      observer = await connectClient(broker);
      published = await collect(observer, `${BASE}/#`);
    });

    afterEach(async () => {
      await running?.stop();
      running = undefined;
      // Each test starts from a broker without the previous test's devices.
      for (const topic of retained) await devices.publishAsync(topic, "", { retain: true, qos: 1 });
      retained.clear();
    });

    afterAll(async () => {
      published.stop();
      await Promise.all([devices.endAsync(), observer.endAsync()]);
      await broker.stop();
    });

    const retained = new Set<string>();
    const publish = (topic: string, payload: string) => {
      retained.add(topic);
      return devices.publishAsync(topic, payload, { retain: true, qos: 1 });
    };

    async function start(expectedTopics: number): Promise<InProcessAddon> {
      running = await startInProcessAddon(
        broker,
        { rules: RULES, first_read_delay: 3_600, read_interval: 3_600, log_level: "debug" },
        clock,
      );
      const store = running.addon.store;
      await eventually(() => store.trackedTopicCount >= expectedTopics, `${expectedTopics} topics to arrive`);
      return running;
    }

    /** The value published on `<base>/<key>/state` or its availability after `from`. */
    async function stateAfter(from: number, key: string): Promise<string> {
      const message = await published.waitFor(
        (each) =>
          published.messages.indexOf(each) >= from &&
          (each.topic === `${BASE}/${key}/state` ||
            (each.topic === `${BASE}/${key}/availability` && each.payload === "offline")),
      );
      return message.topic.endsWith("/availability") ? "unavailable" : message.payload;
    }

    async function attributesAfter(from: number, key: string): Promise<Record<string, unknown>> {
      const message: ReceivedMessage = await published.waitFor(
        (each) => published.messages.indexOf(each) >= from && each.topic === `${BASE}/${key}/attributes`,
      );
      return JSON.parse(message.payload) as Record<string, unknown>;
    }

    it("averages Tasmota, Zigbee2MQTT and Shelly Gen2 without the ESP32 chip, and counts lights of both firmwares", async () => {
      await publish(
        "tele/th/SENSOR",
        JSON.stringify({ AM2301: { Temperature: 21.4, Humidity: 40 }, TempUnit: "C" }),
      );
      await publish("zigbee2mqtt/livingroom/climate", JSON.stringify({ temperature: 22.1, humidity: 50 }));
      await publish("shellyplusht-c4/status/temperature:0", JSON.stringify({ id: 0, tC: 21.7, tF: 71.1 }));
      await publish(
        "tele/esp32/SENSOR",
        JSON.stringify({ ESP32: { Temperature: 52.2 }, DS18B20: { Temperature: 20.8 }, TempUnit: "C" }),
      );
      await publish("stat/lamp/POWER", "ON");
      await publish("stat/spot/POWER", "OFF");
      await publish("zigbee2mqtt/ceiling", JSON.stringify({ state: "ON", brightness: 254 }));
      const { addon } = await start(7);
      const from = published.messages.length;
      await addon.readNow();
      expect(await stateAfter(from, "living_room_temperature")).toBe("21.50");
      expect(await stateAfter(from, "lights_on")).toBe("2");
      const attributes = await attributesAfter(from, "living_room_temperature");
      expect(Object.keys(attributes["sources"] as object).sort()).toEqual([
        "shellyplusht-c4/status/temperature:0",
        "tele/esp32/SENSOR#DS18B20",
        "tele/th/SENSOR#AM2301",
        "zigbee2mqtt/livingroom/climate",
      ]);
    });

    it("converts °F into °C and leaves sentinels out", async () => {
      await publish("tele/us/SENSOR", JSON.stringify({ AM2301: { Temperature: 71.6 }, TempUnit: "F" }));
      await publish(
        "rtl_433/Acurite-Tower/1234",
        JSON.stringify({ model: "Acurite-Tower", temperature_F: 68 }),
      );
      await publish("zigbee2mqtt/hall", JSON.stringify({ temperature: 21 }));
      await publish("shellies/uni-1/ext_temperature/0", "999");
      await publish("shellies/ht-1/ext_temperature/0", "-99.5");
      await publish("shellies/ht-2/ext_temperature/0", "19.5");
      const { addon } = await start(6);
      const from = published.messages.length;
      await addon.readNow();
      expect(await stateAfter(from, "us_and_eu_temperature")).toBe("21.0");
      expect(await stateAfter(from, "shelly_temperatures")).toBe("19.5");
      const attributes = await attributesAfter(from, "shelly_temperatures");
      expect(attributes["not_counted"]).toEqual({
        "shellies/uni-1/ext_temperature/0": "out of range: 999 is above max_value 60",
        "shellies/ht-1/ext_temperature/0": "out of range: -99.5 is below min_value -40",
      });
    });

    it("holds windows and lamps through a day of silence and drops each source as its device goes offline", async () => {
      // Each as its firmware publishes it: [topic, payload, availability topic, online, offline].
      const sources: [string, string, string, string, string][] = [
        [
          "zigbee2mqtt/window/kitchen",
          JSON.stringify({ contact: false, battery: 90 }),
          "zigbee2mqtt/window/kitchen/availability",
          JSON.stringify({ state: "online" }),
          JSON.stringify({ state: "offline" }),
        ],
        ["hall/binary_sensor/window/state", "ON", "hall/status", "online", "offline"],
        ["shellies/door-1/sensor/state", "open", "shellies/door-1/online", "true", "false"],
        ["stat/lamp/POWER", "ON", "tele/lamp/LWT", "Online", "Offline"],
        [
          "zigbee2mqtt/lamp/ceiling",
          JSON.stringify({ state: "ON", brightness: 254 }),
          "zigbee2mqtt/lamp/ceiling/availability",
          "online",
          "offline",
        ],
        [
          "hall/light/spots/state",
          JSON.stringify({ state: "ON", brightness: 255 }),
          "hall/status",
          "online",
          "offline",
        ],
        [
          "shellyplus1pm-a8/status/switch:0",
          JSON.stringify({ id: 0, source: "WS_in", output: true, apower: 8.5 }),
          "shellyplus1pm-a8/online",
          "true",
          "false",
        ],
      ];
      for (const [topic, payload, availability, online] of sources) {
        await publish(topic, payload);
        await publish(availability, online);
      }
      // A window whose device was already offline before the add-on started never counts.
      await publish("zigbee2mqtt/window/attic", JSON.stringify({ contact: false }));
      await publish("zigbee2mqtt/window/attic/availability", "offline");
      const { addon } = await start(sources.length + 1);
      const counted = (key: string) =>
        addon.store.read(time).values.find((value) => value.identity.entityKey === key)?.counts ?? {
          counted: 0,
          offline: 0,
        };
      await eventually(
        () => counted("windows").counted === 3 && counted("lamps_on").counted === 4,
        "every source",
      );
      let from = published.messages.length;
      await addon.readNow();
      expect(await stateAfter(from, "windows")).toBe("ON");
      expect(await stateAfter(from, "lamps_on")).toBe("4");
      expect((await attributesAfter(from, "windows"))["not_counted"]).toEqual({
        "zigbee2mqtt/window/attic": "offline: zigbee2mqtt/window/attic/availability says offline",
      });

      // A day without a message from any of them: contact sensors and lights report only on change.
      // Nothing changed, so nothing is published: both stay available with their state.
      time += DAY;
      from = published.messages.length;
      await addon.readNow();
      expect(counted("windows").counted).toBe(3);
      expect(counted("lamps_on").counted).toBe(4);
      expect(published.messages.slice(from).filter((message) => message.payload === "offline")).toEqual([]);

      // Each device says offline in turn; its source is left out at once (these rules update on
      // change) or at the next read.
      const loopFrom = published.messages.length;
      for (const [topic, , availability, , offline] of sources) {
        if (topic.startsWith("hall/light")) continue; // hall/status went offline with the hall's window
        const key = topic.includes("window") || topic.includes("door") ? "windows" : "lamps_on";
        const before = counted(key).offline;
        from = published.messages.length;
        await publish(availability, offline);
        await eventually(() => counted(key).offline > before, `${availability} to say offline`);
        await addon.readNow();
        const notCounted = (await attributesAfter(from, key))["not_counted"] as Record<string, string>;
        expect(notCounted[topic]).toBe(`offline: ${availability} says offline`);
      }
      // With every device offline, both are unavailable.
      for (const key of ["windows", "lamps_on"])
        await published.waitForFrom(
          loopFrom,
          (message) => message.topic === `${BASE}/${key}/availability` && message.payload === "offline",
        );
    });
  });
}
