import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, connectClient, startAedes, type Collector, type TestBroker } from "../support/brokers.js";
import { eventually, startInProcessAddon } from "../support/in-process-addon.js";

/**
 * NTP correcting a Raspberry Pi's clock back by an hour: ages, ordering and the save interval are
 * measured on a monotonic clock, so the jump changes nothing but the times written to the state file.
 */
const HOUR = 3_600_000;
const RULES = [{ name: "Last", topic: "clock/+", function: "last" }];

let broker: TestBroker;
let devices: MqttClient;
let observer: MqttClient;
let published: Collector;
let dataDir: string;

beforeAll(async () => {
  broker = await startAedes();
  devices = await connectClient(broker);
  observer = await connectClient(broker);
  published = await collect(observer, "mqtt_aggregator/last/state");
  dataDir = await mkdtemp(join(tmpdir(), "mqtt-aggregator-clock-"));
});

afterAll(async () => {
  await Promise.all([devices.endAsync(), observer.endAsync()]);
  await broker.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("a wall clock set back by an hour", () => {
  it("keeps `last` the latest value, keeps saving, and restores the saved readings", async () => {
    let monotonic = 5_000_000;
    let wall = Date.parse("2026-12-01T12:00:00Z");
    const clock = { now: () => monotonic, wallNow: () => wall };
    const options = { rules: RULES, first_read_delay: 3_600, read_interval: 60 };
    const first = await startInProcessAddon(broker, options, clock, dataDir);
    const store = first.addon.store;
    await eventually(() => first.lines.some((line) => line.includes("Listening to")), "the subscriptions");

    await devices.publishAsync("clock/a", "1", { qos: 1 });
    await eventually(() => store.trackedTopicCount === 1, "clock/a");
    monotonic += 1_000;
    wall -= HOUR; // NTP steps the clock back
    await devices.publishAsync("clock/b", "2", { qos: 1 });
    await eventually(() => store.trackedTopicCount === 2, "clock/b");
    monotonic += 1_000;

    await first.addon.readNow();
    await published.waitFor((message) => message.payload === "2");
    const savedAt = async () =>
      (JSON.parse(await readFile(join(dataDir, "state.json"), "utf8")) as { saved_at: number }).saved_at;
    expect(await savedAt()).toBe(wall);

    // The next save is due a read interval later on the monotonic clock, whatever the wall says.
    monotonic += 61_000;
    wall += 61_000;
    await first.addon.readNow();
    expect(await savedAt()).toBe(wall);
    await first.stop();

    // Restarted with the wall clock further back than the saved times: the readings are not "too old".
    wall -= 2 * HOUR;
    monotonic = 10;
    const second = await startInProcessAddon(broker, options, clock, dataDir);
    expect(second.lines.find((line) => line.includes("Restored"))).toMatch(/Restored 2 of 2 saved readings/);
    await second.stop();
  });
});
