import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  brokerKinds,
  collect,
  connectClient,
  freePort,
  startBroker,
  type TestBroker,
} from "../support/brokers.js";
import { startProgram, stopAllPrograms, type RunningProgram } from "../support/program.js";

/** What survives a restart of the add-on, and what a stop at an awkward moment does. */

const RULES = [
  {
    name: "Living room temperature",
    topic: "home/tele/+/livingroom/#",
    value_path: "*.Temperature",
    function: "mean",
    unit: "°C",
    device_class: "temperature",
  },
];
const STATE_TOPIC = "mqtt_aggregator/living_room_temperature/state";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await stopAllPrograms();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(kind: "aedes" | "mosquitto"): Promise<TestBroker> {
  const started = await startBroker(
    kind,
    kind === "mosquitto" ? { username: "addons", password: "restart-pw" } : {},
  );
  cleanups.push(() => started.stop());
  return started;
}

function optionsFor(target: TestBroker, extra: Record<string, unknown> = {}) {
  return {
    first_read_delay: 1,
    read_interval: 1,
    max_age: 600,
    rules: RULES,
    mqtt: {
      host: target.host,
      port: target.port,
      ...(target.username === undefined ? {} : { username: target.username, password: target.password }),
    },
    ...extra,
  };
}

/** Retained, so they reach the program even if it is still subscribing; a restarted broker forgets them. */
async function publishReadings(target: TestBroker): Promise<void> {
  const sensors = await connectClient(target);
  await sensors.publishAsync(
    "home/tele/th1/livingroom/SENSOR",
    JSON.stringify({ AM2301: { Temperature: 20 } }),
    { qos: 1 },
  );
  await sensors.publishAsync(
    "home/tele/th2/livingroom/SENSOR",
    JSON.stringify({ DS18B20: { Temperature: 23 } }),
    { qos: 1 },
  );
  await sensors.endAsync();
}

async function savedTopics(program: RunningProgram): Promise<string[]> {
  const path = join(program.dataDir, "state.json");
  if (!existsSync(path)) return [];
  const saved = JSON.parse(await readFile(path, "utf8")) as { readings: { topic: string }[] };
  return saved.readings.map((reading) => reading.topic).sort();
}

async function waitForSaved(program: RunningProgram, count: number): Promise<void> {
  const started = Date.now();
  while ((await savedTopics(program)).length < count) {
    if (Date.now() - started > 10_000)
      throw new Error(`state.json never held ${count} readings:\n${program.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each(brokerKinds())("restarts with %s", (kind) => {
  it("after kill -9, the values are back at once from the state file", async () => {
    const first = await broker(kind);
    const program = await startProgram({ options: optionsFor(first) });
    await program.waitForLine(/Listening to \d+ topic filter/);
    await publishReadings(first);
    await waitForSaved(program, 2);
    const killed = await program.kill9();
    expect(killed.signal).toBe("SIGKILL");

    // A fresh broker holds no retained state: whatever appears comes from the state file.
    await first.restart();
    const watcher = await connectClient(first);
    const states = await collect(watcher, STATE_TOPIC);
    const again = await startProgram({
      options: optionsFor(first, { first_read_delay: 3600 }),
      dataDir: program.dataDir,
    });
    await again.waitForLine(/Restored 2 of 2 saved readings/);
    const state = await states.waitFor(() => true, 8_000);
    expect(Number(state.payload)).toBeCloseTo(21.5);
    await watcher.endAsync();
  });

  it("resumes publishing states after the broker restarts mid-stream", async () => {
    const target = await broker(kind);
    const program = await startProgram({ options: optionsFor(target) });
    await program.waitForLine(/Listening to \d+ topic filter/);
    await publishReadings(target);
    await target.restart();
    await program.waitForLine(/Lost the connection to the MQTT broker/, 8_000);
    await program.waitForLine(/Reconnected to the MQTT broker/, 15_000);
    const watcher = await connectClient(target);
    const status = await collect(watcher, "mqtt_aggregator/status");
    const states = await collect(watcher, STATE_TOPIC);
    await status.waitFor((message) => message.payload === "online", 5_000);
    // The readings taken before the restart are still there; the broker lost nothing we need.
    const state = await states.waitFor(() => true, 5_000);
    expect(Number(state.payload)).toBeCloseTo(21.5);
    await watcher.endAsync();
  });
});

describe("a damaged state file", () => {
  it.each([
    ["corrupt", "{not json at all"],
    ["truncated", '{"version":1,"saved_at":1,"readings":[{"topic":"home/te'],
    ["of another shape", JSON.stringify({ version: 99, readings: "no" })],
  ])("is logged and ignored when %s", async (_what, content) => {
    const target = await broker("aedes");
    const first = await startProgram({
      options: { rules: RULES, mqtt: { host: target.host, port: target.port } },
    });
    await first.stop();
    await writeFile(join(first.dataDir, "state.json"), content);
    const program = await startProgram({
      options: { rules: RULES, mqtt: { host: target.host, port: target.port } },
      dataDir: first.dataDir,
    });
    await program.waitForLine(/WARNING: Ignoring the saved readings in .*state\.json/);
    await program.waitForLine(/Listening to \d+ topic filter/);
    expect(program.output()).not.toMatch(/^\s+at /m);
    expect((await program.stop()).code).toBe(0);
  });

  it("drops saved readings that no rule matches any more", async () => {
    const target = await broker("aedes");
    const program = await startProgram({ options: optionsFor(target) });
    await program.waitForLine(/Listening to \d+ topic filter/);
    await publishReadings(target);
    await waitForSaved(program, 2);
    await program.stop();
    const changed = await startProgram({
      options: optionsFor(target, { rules: [{ name: "Kitchen", topic: "home/kitchen/+", function: "max" }] }),
      dataDir: program.dataDir,
    });
    await changed.waitForLine(/Restored 0 of 2 saved readings/);
    await changed.stop();
    expect(await savedTopics(changed)).toEqual([]);
  });
});

describe("SIGTERM at awkward moments", () => {
  it("while the broker cannot be reached at start-up: exit 0 within 5 s", async () => {
    const closedPort = await freePort();
    const program = await startProgram({
      options: { rules: RULES, mqtt: { host: "127.0.0.1", port: closedPort } },
    });
    await program.waitForLine(/Cannot reach the MQTT broker/);
    const exit = await program.stop("SIGTERM");
    expect(exit.code, program.output()).toBe(0);
    expect(exit.durationMs).toBeLessThan(5_000);
  });

  it("during a reconnect: exit 0 within 5 s, with the readings saved", async () => {
    const target = await broker("aedes");
    const program = await startProgram({
      options: optionsFor(target, { read_interval: 3600, first_read_delay: 3600 }),
    });
    await program.waitForLine(/Listening to \d+ topic filter/);
    await publishReadings(target);
    // Let the messages reach the program before the broker goes away.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await target.stop();
    await program.waitForLine(/Lost the connection to the MQTT broker/, 8_000);
    const exit = await program.stop("SIGTERM");
    expect(exit.code, program.output()).toBe(0);
    expect(exit.durationMs).toBeLessThan(5_000);
    expect(await savedTopics(program)).toEqual([
      "home/tele/th1/livingroom/SENSOR",
      "home/tele/th2/livingroom/SENSOR",
    ]);
  });

  it("with publishes in flight: exit 0 within 5 s and offline retained", async () => {
    const target = await broker(brokerKinds().includes("mosquitto") ? "mosquitto" : "aedes");
    const fanOut = { name: "{n} value", topic: "burst/+n", function: "last" };
    const program = await startProgram({
      options: optionsFor(target, { rules: [fanOut], read_interval: 1 }),
    });
    await program.waitForLine(/Listening to \d+ topic filter/);
    const sensors = await connectClient(target);
    for (let index = 0; index < 300; index += 1) await sensors.publishAsync(`burst/n${index}`, String(index));
    await sensors.endAsync();
    // The first read publishes ~1,200 messages; stop in the middle of it.
    await program.waitForLine(/Connected/);
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    const exit = await program.stop("SIGTERM");
    expect(exit.code, program.output()).toBe(0);
    expect(exit.durationMs).toBeLessThan(5_000);
    const watcher = await connectClient(target);
    const status = await collect(watcher, "mqtt_aggregator/status");
    await status.waitFor((message) => message.payload === "offline" && message.retain, 3_000);
    await watcher.endAsync();
  });
});

describe.each(brokerKinds())("a broker refusing the credentials (%s)", (kind) => {
  it("is logged once, not once per retry, and the add-on keeps trying", async () => {
    const target = await startBroker(kind, { username: "addons", password: "right-pw" });
    cleanups.push(() => target.stop());
    const program = await startProgram({
      options: {
        rules: RULES,
        mqtt: { host: target.host, port: target.port, username: "addons", password: "wrong-pw-Zq81" },
      },
    });
    await program.waitForLine(/ERROR: The MQTT broker refused the connection/);
    // With the backoff, several attempts fit in this window: 1 s, 2 s, 4 s.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(program.hasExited).toBe(false);
    expect(program.lines.filter((line) => line.text.includes("refused the connection"))).toHaveLength(1);
    expect(program.output()).not.toContain("wrong-pw-Zq81");
    const exit = await program.stop();
    expect(exit.code).toBe(0);
  });
});
