import { afterEach, describe, expect, it } from "vitest";

import { jsonValue } from "../../src/core/reading-value.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { connectClient, startAedes, type TestBroker } from "../support/brokers.js";
import { eventually, startInProcessAddon, type InProcessAddon } from "../support/in-process-addon.js";
import { compile } from "../support/rules.js";

/**
 * What the log says that a person can act on: a line per rule after its first read, a binary
 * rule whose readings can never be on, and an object where a value was expected.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function running(
  options: Record<string, unknown>,
): Promise<{ broker: TestBroker; addon: InProcessAddon }> {
  const broker = await startAedes();
  cleanups.push(() => broker.stop());
  const devices = await connectClient(broker);
  cleanups.push(() => devices.endAsync(true));
  await devices.publishAsync("zigbee2mqtt/kitchen/motion", JSON.stringify({ occupancy: true }), {
    retain: true,
  });
  await devices.publishAsync("zigbee2mqtt/hall/motion", JSON.stringify({ occupancy: false }), {
    retain: true,
  });
  await devices.publishAsync("home/kitchen/temperature", "19.5", { retain: true });
  const addon = await startInProcessAddon(broker, { first_read_delay: 3_600, ...options });
  cleanups.push(() => addon.stop());
  await eventually(
    () => addon.lines.some((line) => line.includes("Listening to")),
    "the subscription",
    8_000,
  );
  // Retained messages arrive just after the subscription.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { broker, addon };
}

describe("at info level, after the first read", () => {
  it("says for each rule how many topics it sees, its entities, and why those unavailable are", async () => {
    const { addon } = await running({
      rules: [
        { name: "{room} temperature", topic: "home/+room/temperature", function: "mean" },
        { name: "Attic humidity", topic: "home/attic/humidity", function: "mean" },
        { name: "{room} pressure", topic: "home/+room/pressure", function: "mean" },
      ],
    });
    await addon.addon.readNow();
    await addon.addon.readNow();
    const described = addon.lines.filter((line) => line.includes('INFO: Rule "'));
    expect(described).toEqual([
      expect.stringMatching(
        /INFO: Rule "\{room\} temperature" sees 1 topic; 1 entity: "kitchen temperature" 19\.5$/,
      ),
      expect.stringMatching(
        /INFO: Rule "Attic humidity" sees 0 topics; 1 entity, 1 unavailable: "Attic humidity" unavailable \(0 inputs count, needs 1\)$/,
      ),
      expect.stringMatching(
        /INFO: Rule "\{room\} pressure" sees 0 topics and has no entity yet: none of its topics has given a usable reading$/,
      ),
    ]);
  }, 15_000);
});

describe("a binary rule whose readings are JSON true/false", () => {
  it("says once that they never equal the default on_value, with the fix", async () => {
    const { addon } = await running({
      rules: [
        { name: "Motion anywhere", topic: "zigbee2mqtt/+/motion", value_path: "occupancy", function: "any" },
        {
          name: "Motion, fixed",
          topic: "zigbee2mqtt/+/motion",
          value_path: "occupancy",
          function: "any",
          on_value: "true",
        },
      ],
    });
    await addon.addon.readNow();
    await addon.addon.readNow();
    const told = addon.lines.filter((line) => line.includes("reads JSON true/false values"));
    expect(told).toEqual([
      expect.stringMatching(
        /WARNING: Rule "Motion anywhere" reads JSON true\/false values, which never equal its on_value "on"; set on_value: "true" to count true as on, or "false" for false \(quoted in YAML\)$/,
      ),
    ]);
  }, 15_000);
});

describe("an object where a value was expected", () => {
  it("names its keys and suggests a value_path that picks one", () => {
    expect(jsonValue({ Time: "12:00", AM2301: { Temperature: 21.4, Humidity: 40 }, TempUnit: "C" })).toEqual({
      kind: "unusable",
      why: 'an object with the keys "Time", "AM2301", "TempUnit", not a value; a value_path such as AM2301.Temperature picks one',
    });
    expect(jsonValue({ "PM2.5": 7 }, ["PMS5003"])).toEqual({
      kind: "unusable",
      why: 'an object with the keys "PM2.5", not a value; a value_path such as PMS5003["PM2.5"] picks one',
    });
    const many = Object.fromEntries(Array.from({ length: 8 }, (_, index) => [`k${index}`, "x"]));
    expect(jsonValue(many)).toMatchObject({
      why: 'an object with the keys "k0", "k1", "k2", "k3", "k4" and 3 more, not a value; a value_path such as k0 picks one',
    });
  });

  it("is what a rule without a value_path says of a JSON payload, in the entity's attributes", () => {
    const [rule] = compile([{ name: "Climate", topic: "zigbee2mqtt/+", function: "mean" }]);
    const store = new ReadingsStore(rule === undefined ? [] : [rule]);
    store.ingest("zigbee2mqtt/climate", JSON.stringify({ temperature: 21.5, humidity: 40 }), 0);
    const { values } = store.read(0);
    expect(values[0]?.sources[0]?.reason).toBe(
      'an object with the keys "temperature", "humidity", not a value; a value_path such as temperature picks one',
    );
  });
});
