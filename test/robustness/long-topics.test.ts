import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  brokerKinds,
  collect,
  connectClient,
  startBroker,
  type ReceivedMessage,
  type TestBroker,
} from "../support/brokers.js";
import { deviceDiscoveryProblems } from "../support/discovery-validator.js";
import { startProgram, stopAllPrograms, type RunningProgram } from "../support/program.js";

/**
 * A device topic with a level of 65,510 characters is valid MQTT. Captured by a named wildcard, it
 * once made the add-on build topics over MQTT's 65,535 bytes and die in the packet encoder, at
 * every restart while the topic stayed retained.
 */

const RULE = { name: "Temperature {room}", topic: "home/+room/temperature", function: "mean" };
const LONG_LEVEL = "a".repeat(65_510);
/** 21,000 three-byte characters: 63,000 bytes in a topic, but 21,000 characters in a name. */
const EURO_LEVEL = "€".repeat(21_000);
/** Far below MQTT's limit, and what a rule key (255), a value's share (128 + hash) and the layout leave. */
const LONGEST_OWN_TOPIC = 1_024;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await stopAllPrograms();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function optionsFor(target: TestBroker) {
  return {
    log_level: "debug",
    first_read_delay: 1,
    read_interval: 1,
    rules: [RULE],
    mqtt: {
      host: target.host,
      port: target.port,
      ...(target.username === undefined ? {} : { username: target.username, password: target.password }),
    },
  };
}

async function savedTopics(program: RunningProgram): Promise<string[]> {
  const path = join(program.dataDir, "state.json");
  if (!existsSync(path)) return [];
  const saved = JSON.parse(await readFile(path, "utf8")) as { readings: { topic: string }[] };
  return saved.readings.map((reading) => reading.topic);
}

type Component = Record<string, unknown> & { availability: { topic: string }[] };

/** The components of a device config, by entity key. */
function componentsOf(config: ReceivedMessage | undefined): Record<string, Component> {
  if (config === undefined || config.payload === "") return {};
  return (JSON.parse(config.payload) as { cmps: Record<string, Component> }).cmps;
}

function expectBounded(config: ReceivedMessage): void {
  expect(deviceDiscoveryProblems(config.topic, config.payload)).toEqual([]);
  expect(Buffer.byteLength(config.topic)).toBeLessThanOrEqual(LONGEST_OWN_TOPIC);
  for (const [key, component] of Object.entries(componentsOf(config))) {
    expect(key.length).toBeLessThanOrEqual(LONGEST_OWN_TOPIC);
    expectComponentBounded(component);
  }
}

function expectComponentBounded(parsed: Component): void {
  for (const topic of [
    parsed["state_topic"],
    parsed["json_attributes_topic"],
    ...parsed.availability.map((entry) => entry.topic),
  ]) {
    expect(typeof topic === "string" && Buffer.byteLength(topic) <= LONGEST_OWN_TOPIC, String(topic)).toBe(
      true,
    );
  }
  expect(String(parsed["unique_id"]).length).toBeLessThanOrEqual(LONGEST_OWN_TOPIC);
  expect(String(parsed["default_entity_id"]).length).toBeLessThanOrEqual(255);
  expect(String(parsed["name"]).length).toBeLessThanOrEqual(255);
}

describe.each(brokerKinds())("a 65,510-character topic level through %s", (kind) => {
  async function broker(): Promise<TestBroker> {
    const started = await startBroker(
      kind,
      kind === "mosquitto" ? { username: "addons", password: "long-topic-pw" } : {},
    );
    cleanups.push(() => started.stop());
    return started;
  }

  it("retained, makes bounded topics and ids, and survives a restart", async () => {
    const target = await broker();
    const sensors = await connectClient(target);
    cleanups.push(() => sensors.endAsync(true));
    await sensors.publishAsync(`home/${LONG_LEVEL}/temperature`, "21.5", { qos: 1, retain: true });
    await sensors.publishAsync(`home/${EURO_LEVEL}/temperature`, "19", { qos: 1, retain: true });
    await sensors.publishAsync("home/kitchen/temperature", "20", { qos: 1, retain: true });
    const configs = await collect(sensors, "homeassistant/device/mqtt_aggregator/+/config");
    const states = await collect(sensors, "mqtt_aggregator/+/state");

    const program = await startProgram({ options: optionsFor(target) });
    await program.waitForLine(/DEBUG: Read 3 derived values/, 10_000);
    const stateOf = (key: string) =>
      states.waitFor((message) => message.topic === `mqtt_aggregator/${key}/state`);
    await states.waitFor((message) => message.topic === "mqtt_aggregator/temperature_room__kitchen/state");
    // The three entities, in the add-on's device config.
    const full = await configs.waitFor((message) => Object.keys(componentsOf(message)).length === 3);
    for (const config of configs.messages) expectBounded(config);
    const components = Object.entries(componentsOf(full));
    const key =
      components.find(([, component]) => String(component["name"]).startsWith("Temperature aaa"))?.[0] ?? "";
    expect(key).toMatch(/^temperature_room__a+_[0-9a-f]{8}$/);
    expect((await stateOf(key)).payload).toBe("21.5");
    const euro = components.find(([, component]) =>
      String(component["name"]).startsWith("Temperature €"),
    )?.[1];
    expect(euro).toMatchObject({ name: `Temperature ${"€".repeat(128)}…` });

    // The readings are saved whole, and the retained topics come back at the next start.
    const started = Date.now();
    while ((await savedTopics(program)).length < 3 && Date.now() - started < 10_000)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await savedTopics(program)).sort()).toContain(`home/${LONG_LEVEL}/temperature`);
    expect((await program.stop()).code, program.output()).toBe(0);

    const before = configs.messages.length;
    const again = await startProgram({ options: optionsFor(target), dataDir: program.dataDir });
    await again.waitForLine(/Restored 3 of 3 saved readings/);
    // Several reads: it keeps running with the retained topic in its store.
    // The first computes the three entities; later ones only what changed.
    await again.waitForLine(/DEBUG: Read 3 derived values$/);
    const reads = () =>
      again.lines.filter((line) => /DEBUG: Read \d+ derived values?/.test(line.text)).length;
    const waitingSince = Date.now();
    while (reads() < 3 && !again.hasExited && Date.now() - waitingSince < 10_000)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(again.hasExited, again.output()).toBe(false);
    expect(reads()).toBeGreaterThanOrEqual(3);
    const republished = configs.messages.slice(before);
    expect(republished.length).toBeGreaterThanOrEqual(1);
    for (const config of republished) expectBounded(config);
    // The same value keeps its key, so Home Assistant keeps the same entity.
    expect(Object.keys(componentsOf(republished.at(-1)))).toContain(key);
    const exit = await again.stop();
    expect(exit.code, again.output()).toBe(0);
    expect(again.output()).not.toMatch(/^\s+at /m);
  });
});

describe("a 70,000-character rule name", () => {
  it("is an options error naming the rule, not a crash at the first publish", async () => {
    const target = await startBroker("aedes");
    cleanups.push(() => target.stop());
    const program = await startProgram({
      options: {
        ...optionsFor(target),
        rules: [{ name: "x".repeat(70_000), topic: "home/+/temperature", function: "mean" }],
      },
    });
    const exit = await Promise.race([program.exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    expect(exit, program.output()).toMatchObject({ code: 1 });
    await program.waitForLine(
      /ERROR: rules\[0\] "x{59}…"\.name: must be at most 255 characters long, not 70000$/,
      100,
    );
    expect(program.output()).not.toMatch(/^\s+at /m);
  });
});
