/**
 * Issue 11 through a real broker: with a read interval of three minutes, a window that opens
 * reaches Home Assistant within a second; a burst is coalesced; delays hold; reads with nothing
 * new publish nothing.
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

const BASE = "mqtt_aggregator";
const WINDOWS = {
  name: "Windows",
  topic: "zigbee2mqtt/window/+",
  value_path: "contact",
  function: "any",
  on_value: "false",
  device_class: "window",
};
/** Publishes are handed to the broker without waiting: give them time to arrive before asserting none came. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
const z2mContact = (closed: boolean) => JSON.stringify({ contact: closed, battery: 90, linkquality: 120 });

for (const kind of brokerKinds()) {
  describe(`updates on change through ${kind}`, () => {
    let broker: TestBroker;
    let devices: MqttClient;
    let observer: MqttClient;
    let published: Collector;
    let running: InProcessAddon | undefined;

    beforeAll(async () => {
      broker = await startBroker(kind);
      devices = await connectClient(broker);
      observer = await connectClient(broker);
      published = await collect(observer, `${BASE}/#`);
    });

    afterEach(async () => {
      await running?.stop();
      running = undefined;
      await devices.publishAsync("zigbee2mqtt/window/kitchen", "", { retain: true, qos: 1 });
    });

    afterAll(async () => {
      published.stop();
      await Promise.all([devices.endAsync(), observer.endAsync()]);
      await broker.stop();
    });

    async function start(rules: object[], clock?: { now: () => number }): Promise<InProcessAddon> {
      const addon = await startInProcessAddon(
        broker,
        { rules, read_interval: 180, first_read_delay: 3_600, log_level: "debug" },
        clock,
      );
      running = addon;
      // After the start-up announcement, which republishes what is retained, the test's own messages begin.
      await eventually(
        () => addon.lines.some((line) => line.includes("Announced")),
        "the announcement",
        8_000,
      );
      return addon;
    }

    const statesOf = (key: string, from: number): ReceivedMessage[] =>
      published.messages.slice(from).filter((message) => message.topic === `${BASE}/${key}/state`);
    /**
     * States that say something new: with MQTT 5 (Mosquitto) an unchanged retained state is renewed
     * before it expires, which after minutes of controlled time repeats the ON that is held.
     */
    const changesOf = (key: string, from: number, held: string): ReceivedMessage[] =>
      statesOf(key, from).filter((message) => message.payload !== held);

    it("publishes a window opening within a second, and a burst of 1,000 changes as a handful", async () => {
      await start([WINDOWS]);
      await devices.publishAsync("zigbee2mqtt/window/kitchen", z2mContact(true), { qos: 1, retain: true });
      await published.waitFor(
        (message) => message.topic === `${BASE}/windows/state` && message.payload === "OFF",
      );

      const from = published.messages.length;
      const sentAt = Date.now();
      await devices.publishAsync("zigbee2mqtt/window/kitchen", z2mContact(false), { qos: 1 });
      const opened = await published.waitForFrom(
        from,
        (message) => message.topic === `${BASE}/windows/state` && message.payload === "ON",
        1_000,
      );
      expect(opened.payload).toBe("ON");
      expect(Date.now() - sentAt).toBeLessThan(1_000);

      const burstFrom = published.messages.length;
      const burst: Promise<unknown>[] = [];
      for (let index = 0; index < 1_000; index += 1)
        burst.push(
          devices.publishAsync("zigbee2mqtt/window/kitchen", z2mContact(index % 2 === 1), { qos: 0 }),
        );
      await Promise.all(burst);
      // The last of the burst says closed; once that is shown, the burst is over.
      await eventually(() => statesOf("windows", burstFrom).at(-1)?.payload === "OFF", "the burst to settle");
      await settle();
      expect(statesOf("windows", burstFrom).length).toBeLessThanOrEqual(10);
    });

    it("holds ON for delay_off of controlled time after the last window closed, and cancels when one reopens", async () => {
      let time = 1_000_000;
      const { addon } = await start([{ ...WINDOWS, delay_off: 300 }], { now: () => time });
      const opened = published.messages.length;
      await devices.publishAsync("zigbee2mqtt/window/kitchen", z2mContact(false), { qos: 1, retain: true });
      await published.waitForFrom(
        opened,
        (message) =>
          message.topic === `${BASE}/windows/attributes` && message.payload.includes('"counted_count":1'),
      );
      await published.waitForFrom(
        opened,
        (message) => message.topic === `${BASE}/windows/availability` && message.payload === "online",
      );

      let from = published.messages.length;
      time += 1_000;
      await devices.publishAsync("zigbee2mqtt/window/kitchen", z2mContact(true), { qos: 1, retain: true });
      const pending = await published.waitForFrom(
        from,
        (message) => message.topic === `${BASE}/windows/attributes` && message.payload.includes('"pending"'),
      );
      expect(JSON.parse(pending.payload)).toMatchObject({ pending: { state: "OFF" } });
      time += 299_000;
      await addon.readNow();
      await settle();
      expect(changesOf("windows", from, "ON")).toEqual([]);

      // Reopened within the delay: the pending OFF is cancelled, and closing again starts it anew.
      await devices.publishAsync("zigbee2mqtt/window/kitchen", z2mContact(false), { qos: 1, retain: true });
      await published.waitForFrom(
        from,
        (message) => message.topic === `${BASE}/windows/attributes` && !message.payload.includes('"pending"'),
      );
      time += 1_000;
      await devices.publishAsync("zigbee2mqtt/window/kitchen", z2mContact(true), { qos: 1, retain: true });
      await eventually(
        () =>
          published.messages
            .slice(from)
            .filter(
              (message) =>
                message.topic === `${BASE}/windows/attributes` && message.payload.includes('"pending"'),
            ).length === 2,
        "the second pending OFF",
      );
      time += 299_000;
      await addon.readNow();
      await settle();
      expect(changesOf("windows", from, "ON")).toEqual([]);
      time += 1_000;
      from = published.messages.length;
      await addon.readNow();
      const off = await published.waitForFrom(from, (message) => message.topic === `${BASE}/windows/state`);
      expect(off.payload).toBe("OFF");
    });

    it("publishes nothing at two reads with no new messages", async () => {
      const { addon } = await start([
        WINDOWS,
        { name: "Battery", topic: "zigbee2mqtt/window/+", value_path: "battery", function: "min", unit: "%" },
      ]);
      await devices.publishAsync("zigbee2mqtt/window/kitchen", z2mContact(true), { qos: 1, retain: true });
      await eventually(() => addon.store.trackedTopicCount > 0, "the window");
      await addon.readNow();
      await published.waitFor((message) => message.topic === `${BASE}/battery/state`);
      const from = published.messages.length;
      await addon.readNow();
      await addon.readNow();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(published.messages.slice(from)).toEqual([]);
    });
  });
}
