import fc from "fast-check";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  brokerKinds,
  collect,
  connectClient,
  startBroker,
  type Collector,
  type TestBroker,
} from "../support/brokers.js";
import { eventually, startInProcessAddon, type InProcessAddon } from "../support/in-process-addon.js";

/**
 * Arbitrary bytes on arbitrary topics, through a real broker and the add-on's own message path:
 * nothing crashes, and no state Home Assistant receives is NaN, Infinity, null or empty.
 */
const RULES = [
  { name: "Mean", topic: "fuzz/#", function: "mean" },
  { name: "Json sum", topic: "fuzz/+/json", value_path: "*.v", function: "sum" },
  { name: "Stdev", topic: "fuzz/#", function: "stdev" },
  { name: "Any on", topic: "fuzz/#", function: "any" },
  { name: "Count on", topic: "fuzz/#", function: "count_on", on_value: "true" },
  { name: "{dev} last", topic: "fuzz/+dev/#", function: "last" },
];

const hostilePayload = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  fc
    .constantFrom(
      "1e309",
      "-1e309",
      "-0",
      "NaN",
      "nan",
      "Infinity",
      "-Infinity",
      "null",
      "",
      "  ",
      "0x10",
      "\u0000",
      "ON",
      "true",
    )
    .map((text) => Buffer.from(text)),
  fc.double().map((value) => Buffer.from(String(value))),
  fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value))),
  fc.constant(Buffer.from([0xff, 0xfe, 0xc3, 0x28])),
  fc.constant(Buffer.from(`${"[".repeat(5000)}${"]".repeat(5000)}`)),
  fc.constant(
    Buffer.from(
      JSON.stringify(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, { v: i }]))),
    ),
  ),
  fc.constant(Buffer.alloc(1024 * 1024, 0x31)),
);
const level = fc.stringMatching(/^[a-zA-Z0-9_ .-]{0,8}$/);
const hostileTopic = fc
  .tuple(level, fc.constantFrom("json", "x", ""))
  .map(([device, leaf]) => `fuzz/${device}/${leaf}`);

describe.each(brokerKinds())("hostile input through %s", (kind) => {
  let broker: TestBroker;
  let running: InProcessAddon;
  let sender: MqttClient;
  let states: Collector;
  let everything: Collector;

  beforeAll(async () => {
    broker = await startBroker(kind, kind === "mosquitto" ? { username: "addons", password: "fuzz-pw" } : {});
    running = await startInProcessAddon(broker, {
      first_read_delay: 3600,
      read_interval: 3600,
      max_sources: 200,
      rules: RULES,
    });
    sender = await connectClient(broker);
    states = await collect(sender, "mqtt_aggregator/+/state");
    everything = await collect(sender, "#");
    await eventually(
      () => running.lines.some((line) => line.includes("Listening to")),
      "the add-on to connect",
    );
  });

  afterAll(async () => {
    await running.stop();
    await sender.endAsync();
    await broker.stop();
  });

  it("never crashes and never publishes a non-finite or empty state", async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(hostileTopic, hostilePayload), { minLength: 1, maxLength: 20 }),
        async (messages) => {
          for (const [topic, payload] of messages) await sender.publishAsync(topic, payload, { qos: 1 });
          // A marker after the burst: once the add-on has it, it has every message before it.
          // A new value each time, so that "marker last" changes and states are published (only
          // changes are).
          const marker = `fuzz/marker/x`;
          const value = String((round += 1));
          await sender.publishAsync(marker, value, { qos: 1 });
          await eventually(
            () =>
              running.addon.store
                .snapshot()
                .some((reading) => reading.topic === marker && reading.payload === value),
            "the marker",
          );
          const before = states.messages.length;
          await running.addon.readNow();
          await eventually(() => states.messages.length > before, "states to be published");
          for (const message of states.messages.slice(before)) {
            expect(message.payload).toMatch(/^(ON|OFF|-?\d+(\.\d+)?(e[+-]\d+)?)$/);
            if (message.payload !== "ON" && message.payload !== "OFF")
              expect(Number.isFinite(Number(message.payload))).toBe(true);
          }
        },
      ),
      { numRuns: 25 },
    );
    expect(running.lines.filter((line) => line.includes("ERROR") || line.includes("    at "))).toEqual([]);
  });

  it("writes only under its own topics, whatever the topics and captured values held", () => {
    const own = everything.messages
      .map((message) => message.topic)
      .filter((topic) => !topic.startsWith("fuzz/"));
    expect(own.length).toBeGreaterThan(0);
    for (const topic of own) {
      expect(topic).toMatch(
        /^(mqtt_aggregator\/status|mqtt_aggregator\/[a-z0-9_]+\/(state|attributes|availability)|homeassistant\/device\/mqtt_aggregator\/(add-on|[a-z0-9_]+)\/config)$/,
      );
    }
  });
});
