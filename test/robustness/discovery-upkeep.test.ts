import type { MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";

import { brokerKinds, collect, connectClient, startBroker, type TestBroker } from "../support/brokers.js";
import { startProgram, stopAllPrograms } from "../support/program.js";

/**
 * What the program owes Home Assistant's discovery beyond the states: removing entities of
 * removed rules even when the broker drops in the middle of it, and answering Home Assistant's
 * births even when they keep coming.
 */

const RULE = { name: "Living room temperature", topic: "home/tele/+/livingroom/#", function: "mean" };
const KEPT_CONFIG = "homeassistant/sensor/mqtt_aggregator/living_room_temperature/config";
/** The add-on's own device, which holds the entity of the rule below. */
const DEVICE_CONFIG = "homeassistant/device/mqtt_aggregator/add-on/config";
const STALE_CONFIG = "homeassistant/sensor/mqtt_aggregator/old_rule/config";
const placeholder = (name: string) =>
  JSON.stringify({ name, unique_id: `placeholder_${name}`, state_topic: "placeholder/state" });

const kind = brokerKinds().includes("mosquitto") ? "mosquitto" : "aedes";
const stopTimer = (timer: NodeJS.Timeout) => {
  clearInterval(timer);
  return Promise.resolve();
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await stopAllPrograms();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(): Promise<TestBroker> {
  const started = await startBroker(
    kind,
    kind === "mosquitto" ? { username: "addons", password: "upkeep-pw" } : {},
  );
  cleanups.push(() => started.stop());
  return started;
}

async function client(target: TestBroker): Promise<MqttClient> {
  const connected = await connectClient(target);
  cleanups.push(() => connected.endAsync(true));
  return connected;
}

function optionsFor(target: TestBroker) {
  return {
    first_read_delay: 3600,
    read_interval: 3600,
    rules: [RULE],
    mqtt: {
      host: target.host,
      port: target.port,
      ...(target.username === undefined ? {} : { username: target.username, password: target.password }),
    },
  };
}

describe(`stale-entity cleanup (${kind})`, () => {
  it("runs on the next connection when the broker drops during it", async () => {
    const target = await broker();
    const before = await client(target);
    await before.publishAsync(STALE_CONFIG, placeholder("old rule"), { qos: 1, retain: true });
    // Retained configs that keep coming hold the cleanup's listening window open (up to 3 s),
    // so that the broker surely drops inside it.
    const keeper = setInterval(() => {
      before.publish(KEPT_CONFIG, placeholder("kept"), { qos: 0, retain: true });
    }, 100);
    cleanups.push(() => stopTimer(keeper));

    const program = await startProgram({ options: optionsFor(target) });
    await program.waitForLine(/INFO: Listening to 1 topic filter/, 8_000);
    await target.stop();
    clearInterval(keeper);
    await program.waitForLine(/WARNING: Lost the connection to the MQTT broker/, 8_000);
    // Past the longest window: a cleanup that ran on regardless would be over by now.
    await sleep(3_500);

    // A fresh broker knows nothing retained; the stale config is put back before the program returns.
    await target.restart();
    const after = await client(target);
    const watched = await collect(after, STALE_CONFIG);
    await after.publishAsync(STALE_CONFIG, placeholder("old rule"), { qos: 1, retain: true });
    await program.waitForLine(/INFO: Reconnected to the MQTT broker/, 15_000);
    await program.waitForLine(/INFO: Removed 1 entity whose rule no longer exists/, 8_000);
    await watched.waitFor((message) => message.payload === "", 5_000);
    expect(program.lines.filter((line) => line.text.includes("Removed"))).toHaveLength(1);
  });
});

describe(`Home Assistant's births (${kind})`, () => {
  it("are answered within a few seconds even while they keep coming every 400 ms", async () => {
    const target = await broker();
    const homeAssistant = await client(target);
    const configs = await collect(homeAssistant, DEVICE_CONFIG);
    const program = await startProgram({ options: optionsFor(target) });
    await program.waitForLine(/INFO: Listening to 1 topic filter/, 8_000);
    await configs.waitFor(() => true, 8_000);
    await sleep(300);
    const announcedAtStart = configs.messages.length;

    // Home Assistant restarting in a loop: a birth every 400 ms, all through the wait.
    const birthing = setInterval(() => {
      homeAssistant.publish("homeassistant/status", "online", { qos: 0 });
    }, 400);
    cleanups.push(() => stopTimer(birthing));
    await configs.waitForFrom(announcedAtStart, () => true, 9_000);
    clearInterval(birthing);
    await program.waitForLine(/INFO: Home Assistant restarted; publishing the entities again/, 1_000);
  });
});
