import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, connectClient, startBroker, type TestBroker } from "../support/brokers.js";
import { eventually, startInProcessAddon, type InProcessAddon } from "../support/in-process-addon.js";

/** A wildcard that matches ever more topics must not grow the add-on's memory without bound. */
describe("topic explosion", () => {
  const LIMIT = 100;
  const TOPICS = 5_000;
  let broker: TestBroker;
  let running: InProcessAddon;
  let sender: MqttClient;

  beforeAll(async () => {
    broker = await startBroker("aedes");
    running = await startInProcessAddon(broker, {
      first_read_delay: 3600,
      max_sources: LIMIT,
      rules: [
        { name: "Everything", topic: "boom/#", function: "count" },
        { name: "{id} value", topic: "boom/+id/v", function: "last" },
      ],
    });
    sender = await connectClient(broker);
    await eventually(
      () => running.lines.some((line) => line.includes("Listening to")),
      "the add-on to subscribe",
    );
  });

  afterAll(async () => {
    await running.stop();
    await sender.endAsync();
    await broker.stop();
  });

  it("tracks at most max_sources topics per rule, keeps the newest, and warns once per rule", async () => {
    for (let index = 0; index < TOPICS; index += 1) {
      await sender.publishAsync(`boom/device_${index}/v`, String(index), {
        qos: index === TOPICS - 1 ? 1 : 0,
      });
    }
    const store = running.addon.store;
    await eventually(
      () => store.snapshot().some((reading) => reading.topic === `boom/device_${TOPICS - 1}/v`),
      "the last topic to arrive",
    );

    // Room is made a tenth of the limit at a time, so a rule holds between 90% and 100% of it.
    for (const rule of ["everything", "id_value"]) {
      expect(store.sourceCountOf(rule)).toBeLessThanOrEqual(LIMIT);
      expect(store.sourceCountOf(rule)).toBeGreaterThan(LIMIT * 0.9);
    }
    expect(store.trackedTopicCount).toBeLessThanOrEqual(LIMIT);
    // Fanned-out entities go with their topics, so they are bounded too.
    expect(store.entities().length).toBeLessThanOrEqual(1 + LIMIT);
    const kept = store.snapshot().map((reading) => Number(reading.payload));
    expect(Math.min(...kept)).toBeGreaterThanOrEqual(TOPICS - LIMIT);
    expect(running.lines.filter((line) => line.includes("max_sources"))).toHaveLength(2);
  });
});

describe("a fanned-out entity dropped at the source limit", () => {
  it("turns unavailable instead of showing its last value forever", async () => {
    const broker = await startBroker("aedes");
    const running = await startInProcessAddon(broker, {
      first_read_delay: 3600,
      max_sources: 2,
      rules: [{ name: "{room} temperature", topic: "r/+room", function: "max" }],
    });
    const sender = await connectClient(broker);
    try {
      await eventually(
        () => running.lines.some((line) => line.includes("Listening to")),
        "the add-on to subscribe",
      );
      const availability = await collect(sender, "mqtt_aggregator/+/availability");
      await sender.publishAsync("r/attic", "30", { qos: 1 });
      await sender.publishAsync("r/kitchen", "21", { qos: 1 });
      await eventually(() => running.addon.store.trackedTopicCount === 2, "two rooms");
      await running.addon.readNow();
      await availability.waitFor(
        (message) => message.topic.includes("attic") && message.payload === "online",
      );

      await sender.publishAsync("r/bedroom", "19", { qos: 1 });
      await eventually(
        () => running.addon.store.snapshot().some((reading) => reading.topic === "r/bedroom"),
        "the bedroom",
      );
      await running.addon.readNow();
      await availability.waitFor(
        (message) => message.topic.includes("attic") && message.payload === "offline",
      );
    } finally {
      await running.stop();
      await sender.endAsync();
      await broker.stop();
    }
  });
});
