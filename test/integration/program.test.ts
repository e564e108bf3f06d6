import { existsSync } from "node:fs";
import path from "node:path";

import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  brokerKinds,
  collect,
  connectClient,
  startBroker,
  type Collector,
  type ReceivedMessage,
  type TestBroker,
} from "../support/brokers.js";
import { deviceDiscoveryProblems } from "../support/discovery-validator.js";
import {
  mqttServiceAnswer,
  startFakeSupervisor,
  supervisorError,
  type FakeSupervisor,
} from "../support/fake-supervisor.js";
import { DIST_MAIN, startProgram, stopAllPrograms, type RunningProgram } from "../support/program.js";

/**
 * The built program (dist/main.js) as the add-on image runs it: an options file, a Supervisor
 * that names the broker, a broker with authentication, and Home Assistant played by a test client.
 */

// Distinctive, so finding one in the program's output cannot be a coincidence.
const SUPERVISOR_TOKEN = "supervisor-token-Tq83ZbW1vK";
const MOSQUITTO_PASSWORD = "mosquitto-pw-Xr72LmQ4sD";
const AEDES_PASSWORD = "aedes-pw-Hk49PsN6yC";
const SECRETS = [SUPERVISOR_TOKEN, MOSQUITTO_PASSWORD, AEDES_PASSWORD];

const PREFIX = "homeassistant";
const BASE = "mqtt_aggregator";
const STATUS = `${BASE}/status`;
const BIRTH = `${PREFIX}/status`;

type Component = "sensor" | "binary_sensor";

/** 0.1.0's per-entity config topic. */
const configTopic = (component: Component, key: string) => `${PREFIX}/${component}/${BASE}/${key}/config`;
/** Every rule below is on the add-on's own device, whose config holds all their entities. */
const DEVICE_CONFIG = `${PREFIX}/device/${BASE}/add-on/config`;
const stateTopic = (key: string) => `${BASE}/${key}/state`;
const attributesTopic = (key: string) => `${BASE}/${key}/attributes`;
const availabilityTopic = (key: string) => `${BASE}/${key}/availability`;

const RULES = [
  {
    name: "Living room temperature",
    topic: "home/tele/+/livingroom/#",
    function: "mean",
    value_path: "*.Temperature",
    unit: "°C",
    device_class: "temperature",
    state_class: "measurement",
    precision: 1,
  },
  {
    name: "Living room plain temperature",
    topic: "home/tele/+/livingroom/temperature",
    function: "mean",
    unit: "°C",
    device_class: "temperature",
  },
  {
    name: "Living room windows",
    topic: "home/tele/+/livingroom/#",
    function: "any",
    value_path: "contact",
    on_value: "false",
    device_class: "window",
  },
  {
    name: "Temperature {room}",
    topic: "home/rooms/+room/temperature",
    function: "max",
    unit: "°C",
    device_class: "temperature",
  },
  { id: "no_inputs", name: "Attic humidity", topic: "home/attic/+/humidity", function: "mean" },
  { name: "Short lived", topic: "home/short/+/value", function: "mean", max_age: 1 },
];

/** The entities the rules above make before any reading arrives. */
const PLAIN_ENTITIES: Readonly<Record<string, Component>> = {
  living_room_temperature: "sensor",
  living_room_plain_temperature: "sensor",
  living_room_windows: "binary_sensor",
  no_inputs: "sensor",
  short_lived: "sensor",
};
const KITCHEN = "temperature_room__kitchen";
const BATH = "temperature_room__bath";
/** After the readings test: the fanned-out entities too. */
const ALL_ENTITIES: Readonly<Record<string, Component>> = {
  ...PLAIN_ENTITIES,
  [KITCHEN]: "sensor",
  [BATH]: "sensor",
};

const TOPICS = {
  tasmota1: "home/tele/t1/livingroom/SENSOR",
  tasmota1State: "home/tele/t1/livingroom/STATE",
  tasmota2: "home/tele/t2/livingroom/SENSOR",
  plain1: "home/tele/s1/livingroom/temperature",
  plain2: "home/tele/s2/livingroom/temperature",
  windowLeft: "home/tele/z2m/livingroom/window_left",
  windowRight: "home/tele/z2m/livingroom/window_right",
  kitchen: "home/rooms/kitchen/temperature",
  bath: "home/rooms/bath/temperature",
  short: "home/short/a/value",
} as const;

// Retained before the program starts: an entity whose rule is gone, one whose rule now makes
// a sensor rather than a binary sensor, and two of current rules (one fanned out, not seen yet).
const OLD_CONFIG = configTopic("sensor", "old_rule");
const WRONG_COMPONENT_CONFIG = configTopic("binary_sensor", "living_room_temperature");
const KEPT_CONFIGS = [
  configTopic("sensor", "living_room_temperature"),
  configTopic("sensor", "temperature_room__attic"),
];
/** 0.1.0 made an entity for every value of a named wildcard, even one that never gave a reading. */
const NEVER_VALUED_CONFIG = configTopic("sensor", "temperature_room__bridge");

const tasmota = (temperature: number) =>
  JSON.stringify({
    Time: "2026-11-25T12:00:00",
    AM2301: { Temperature: temperature, Humidity: 45.2, DewPoint: 9.1 },
    TempUnit: "C",
  });
/** Zigbee2MQTT: contact true means closed. */
const z2mContact = (closed: boolean) => JSON.stringify({ battery: 97, contact: closed, linkquality: 132 });

const on = (topic: string, payload?: string) => (message: ReceivedMessage) =>
  message.topic === topic && (payload === undefined || message.payload === payload);

function indexOfFirst(messages: readonly ReceivedMessage[], from: number, topic: string): number {
  const at = messages.slice(from).findIndex((message) => message.topic === topic);
  return at < 0 ? -1 : at + from;
}

function json(payload: string): Record<string, unknown> {
  return JSON.parse(payload) as Record<string, unknown>;
}

/** The components of a device config, by entity key. */
function componentsOf(message: ReceivedMessage | undefined): Record<string, Record<string, unknown>> {
  if (message === undefined || message.payload === "") return {};
  return (json(message.payload)["cmps"] ?? {}) as Record<string, Record<string, unknown>>;
}

/** A device config holding every one of these entities. */
const deviceConfigWith = (keys: readonly string[]) => (message: ReceivedMessage) =>
  message.topic === DEVICE_CONFIG && keys.every((key) => key in componentsOf(message));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(brokerKinds())("the built program against %s", (kind) => {
  const password = kind === "mosquitto" ? MOSQUITTO_PASSWORD : AEDES_PASSWORD;
  const username = kind === "mosquitto" ? "addons" : "aggregator";
  let broker: TestBroker;
  let supervisor: FakeSupervisor | undefined;
  let program: RunningProgram;
  /** Plays Home Assistant: sees everything from the program's start on. */
  let observer: MqttClient;
  let all: Collector;
  /** Plays the devices. */
  let devices: MqttClient;
  /** Index in `all` of the first message after the program started. */
  let startIndex = 0;
  const clients: MqttClient[] = [];

  async function connect(): Promise<MqttClient> {
    const client = await connectClient(broker);
    clients.push(client);
    return client;
  }

  async function publish(client: MqttClient, topic: string, payload: string, retain = false): Promise<void> {
    await client.publishAsync(topic, payload, { qos: 1, retain });
  }

  /** What a client that subscribes now gets as retained on `filter`, once `expected` topics arrived. */
  async function retainedNow(filter: string, expected: readonly string[]): Promise<ReceivedMessage[]> {
    const client = await connect();
    const inbox = await collect(client, filter);
    for (const topic of expected) await inbox.waitFor(on(topic), 5_000);
    // Retained messages come in one burst after the subscription; give stragglers a moment.
    await sleep(200);
    inbox.stop();
    await client.endAsync(true);
    return [...inbox.messages];
  }

  beforeAll(async () => {
    broker = await startBroker(kind, { username, password });
    observer = await connect();
    all = await collect(observer, "#");
    devices = await connect();

    // As 0.1.0 published them: one config per entity, its unique id made of the entity's key.
    const legacy = (name: string, key: string) =>
      JSON.stringify({ name, unique_id: `mqtt_aggregator_${key}`, state_topic: stateTopic(key) });
    await publish(observer, OLD_CONFIG, legacy("Old rule", "old_rule"), true);
    await publish(observer, stateTopic("old_rule"), "17", true);
    await publish(
      observer,
      WRONG_COMPONENT_CONFIG,
      legacy("Wrong component", "living_room_temperature"),
      true,
    );
    for (const topic of KEPT_CONFIGS) {
      const key = topic.split("/").at(-2) ?? "";
      await publish(observer, topic, legacy(key, key), true);
    }
    // The attic's entity has had a value (its retained state says so); the bridge's never had one.
    await publish(observer, stateTopic("temperature_room__attic"), "18", true);
    await publish(
      observer,
      NEVER_VALUED_CONFIG,
      legacy("Temperature bridge", "temperature_room__bridge"),
      true,
    );
    for (const topic of [OLD_CONFIG, WRONG_COMPONENT_CONFIG, NEVER_VALUED_CONFIG, ...KEPT_CONFIGS])
      await all.waitFor(on(topic));

    const options = {
      log_level: "trace",
      first_read_delay: 1,
      read_interval: 1,
      max_age: 60,
      rules: RULES,
      ...(kind === "aedes" ? { mqtt: { host: broker.host, port: broker.port, username, password } } : {}),
    };
    let env: Record<string, string> = {};
    if (kind === "mosquitto") {
      // Like a Mosquitto add-on that is still starting: "not enabled" once, then its address.
      supervisor = await startFakeSupervisor({
        token: SUPERVISOR_TOKEN,
        answers: [
          supervisorError(400, "Service not enabled"),
          mqttServiceAnswer({
            host: broker.host,
            port: broker.port,
            ssl: false,
            protocol: "3.1.1",
            username,
            password,
            addon: "core_mosquitto",
          }),
        ],
      });
      env = { SUPERVISOR_TOKEN, SUPERVISOR_URL: supervisor.url };
    }
    startIndex = all.messages.length;
    expect(existsSync(DIST_MAIN), `${DIST_MAIN} is missing: run npm run build`).toBe(true);
    program = await startProgram({ options, env });
  });

  afterAll(async () => {
    await stopAllPrograms();
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true).catch(() => undefined)));
    await supervisor?.close();
    await broker.stop();
  });

  it("finds the broker, logs in with its credentials and says online", async () => {
    if (kind === "mosquitto") {
      await program.waitForLine(
        /WARNING: Mosquitto is not running yet \(Supervisor answered 400: Service not enabled\)/,
      );
      await program.waitForLine(
        new RegExp(
          `INFO: MQTT broker found via the Supervisor: 127\\.0\\.0\\.1:${broker.port} \\(user addons\\)`,
        ),
        5_000,
      );
      expect(supervisor?.requests.length).toBeGreaterThanOrEqual(2);
      for (const request of supervisor?.requests ?? []) {
        expect(request).toEqual({
          method: "GET",
          path: "/services/mqtt",
          authorization: `Bearer ${SUPERVISOR_TOKEN}`,
        });
      }
    } else {
      await program.waitForLine(
        new RegExp(
          `INFO: Using the MQTT broker set in the options: mqtt://127\\.0\\.0\\.1:${broker.port} as aggregator`,
        ),
      );
    }
    await program.waitForLine(
      new RegExp(
        `^\\[[\\d-]+ [\\d:]+\\] INFO: Connected to the MQTT broker at mqtt://127\\.0\\.0\\.1:${broker.port}`,
      ),
      10_000,
    );
    const online = await all.waitForFrom(startIndex, on(STATUS, "online"));
    expect(online.payload).toBe("online");
  });

  it("clears the retained entities whose rule is gone, and only those, naming them", async () => {
    await all.waitForFrom(startIndex, on(OLD_CONFIG, ""));
    await all.waitForFrom(startIndex, on(stateTopic("old_rule"), ""));
    await all.waitForFrom(startIndex, on(WRONG_COMPONENT_CONFIG, ""));
    await all.waitForFrom(startIndex, on(NEVER_VALUED_CONFIG, ""));
    const removed = await program.waitForLine(
      /INFO: Removed 3 entities whose rule no longer exists or that never had a value: /,
    );
    // In the order the broker hands out retained messages, which differs between brokers.
    for (const name of ['"Old rule"', '"Wrong component"', '"Temperature bridge"'])
      expect(removed).toContain(name);
    // A binary sensor's config under a key that is now a sensor's goes, but not the state topics the key shares.
    const kept = Object.keys(PLAIN_ENTITIES).flatMap((key) => [
      stateTopic(key),
      attributesTopic(key),
      availabilityTopic(key),
    ]);
    expect(all.messages.filter((message) => kept.includes(message.topic) && message.payload === "")).toEqual(
      [],
    );
    const retained = await retainedNow(`${PREFIX}/+/${BASE}/+/config`, [DEVICE_CONFIG]);
    const topics = retained.map((message) => message.topic);
    expect(topics).not.toContain(OLD_CONFIG);
    expect(topics).not.toContain(WRONG_COMPONENT_CONFIG);
    expect(topics).not.toContain(NEVER_VALUED_CONFIG);
  });

  it("moves the entities of 0.1.0's configs into the device config, keeping their unique ids", async () => {
    const [computed, notYet] = KEPT_CONFIGS as [string, string];
    // The living room's entity: migrate_discovery, then the device config with it, then the old topic cleared.
    const migrate = await all.waitForFrom(startIndex, on(computed, '{"migrate_discovery":true}'));
    const device = await all.waitForFrom(
      all.messages.indexOf(migrate),
      deviceConfigWith(["living_room_temperature"]),
    );
    await all.waitForFrom(all.messages.indexOf(device), on(computed, ""));
    expect(componentsOf(device)["living_room_temperature"]?.["unique_id"]).toBe(
      "mqtt_aggregator_living_room_temperature",
    );
    // The attic's entity has not been computed yet: its config stays as it is until then.
    const retained = await retainedNow(`${PREFIX}/+/${BASE}/+/config`, [DEVICE_CONFIG, notYet]);
    expect(retained.map((message) => message.topic)).not.toContain(computed);
    expect(retained.map((message) => message.topic)).toContain(notYet);
    expect(all.messages.slice(startIndex).filter(on(notYet))).toEqual([]);
  });

  it("announces every entity in a retained device config Home Assistant accepts, before any state", async () => {
    const retained = await retainedNow(DEVICE_CONFIG, [DEVICE_CONFIG]);
    const message = retained.find(on(DEVICE_CONFIG));
    expect(message?.retain).toBe(true);
    expect(deviceDiscoveryProblems(DEVICE_CONFIG, message?.payload ?? "")).toEqual([]);
    expect(json(message?.payload ?? "{}")["dev"]).toMatchObject({
      identifiers: ["mqtt_aggregator_mqtt_aggregator"],
      name: "MQTT Aggregator",
    });
    const components = componentsOf(message);
    for (const [key, component] of Object.entries(PLAIN_ENTITIES)) {
      expect(components[key], key).toMatchObject({
        p: component,
        unique_id: `mqtt_aggregator_${key}`,
        state_topic: stateTopic(key),
        json_attributes_topic: attributesTopic(key),
        availability: [{ topic: STATUS }, { topic: availabilityTopic(key) }],
        availability_mode: "all",
      });
    }
    expect(components["living_room_temperature"]).toMatchObject({
      name: "Living room temperature",
      default_entity_id: "sensor.living_room_temperature",
      unit_of_measurement: "°C",
      device_class: "temperature",
      state_class: "measurement",
      suggested_display_precision: 1,
    });
    expect(components["living_room_windows"]).toMatchObject({
      name: "Living room windows",
      default_entity_id: "binary_sensor.living_room_windows",
      device_class: "window",
      payload_on: "ON",
      payload_off: "OFF",
    });

    // Home Assistant must know an entity before its first state arrives.
    const config = all.messages.findIndex(
      (found, index) => index >= startIndex && deviceConfigWith(Object.keys(PLAIN_ENTITIES))(found),
    );
    expect(config).toBeGreaterThanOrEqual(0);
    for (const key of Object.keys(PLAIN_ENTITIES)) {
      const state = indexOfFirst(all.messages, startIndex, stateTopic(key));
      if (state >= 0) expect(config, key).toBeLessThan(state);
    }
  });

  it("derives states, attributes and availability from the devices' payloads", async () => {
    const from = all.messages.length;
    await publish(devices, TOPICS.tasmota1, tasmota(21.0));
    await publish(devices, TOPICS.tasmota1State, JSON.stringify({ Uptime: "0T01:00:00", POWER: "ON" }));
    await publish(devices, TOPICS.tasmota2, tasmota(23.0));
    await publish(devices, TOPICS.plain1, "22.0");
    await publish(devices, TOPICS.plain2, "23.0");
    await publish(devices, TOPICS.kitchen, "19.5");
    await publish(devices, TOPICS.bath, "24");

    const mean = await all.waitForFrom(from, on(stateTopic("living_room_temperature"), "22.0"), 5_000);
    const meanAt = all.messages.indexOf(mean);
    await all.waitForFrom(meanAt, on(availabilityTopic("living_room_temperature"), "online"));
    const attributes = await all.waitForFrom(
      from,
      (message) =>
        message.topic === attributesTopic("living_room_temperature") && json(message.payload)["inputs"] === 2,
    );
    const parsed = json(attributes.payload);
    expect(parsed).toMatchObject({ function: "mean", inputs: 2, counted_count: 2 });
    expect(parsed["sources"]).toEqual({
      [`${TOPICS.tasmota1}#AM2301`]: 21,
      [`${TOPICS.tasmota2}#AM2301`]: 23,
    });

    await all.waitForFrom(from, on(stateTopic("living_room_plain_temperature"), "22.5"));
    await all.waitForFrom(from, on(stateTopic(KITCHEN), "19.5"));
    await all.waitForFrom(from, on(stateTopic(BATH), "24"));
    await all.waitForFrom(from, on(availabilityTopic(KITCHEN), "online"));

    // A fanned-out entity is announced, with a valid config, before its first state.
    const kitchenConfig = await all.waitForFrom(from, deviceConfigWith([KITCHEN]));
    expect(all.messages.indexOf(kitchenConfig)).toBeLessThan(
      indexOfFirst(all.messages, from, stateTopic(KITCHEN)),
    );
    expect(deviceDiscoveryProblems(kitchenConfig.topic, kitchenConfig.payload)).toEqual([]);
    expect(componentsOf(kitchenConfig)[KITCHEN]).toMatchObject({
      name: "Temperature kitchen",
      unique_id: `mqtt_aggregator_${KITCHEN}`,
      default_entity_id: "sensor.temperature_kitchen",
    });

    const status = await retainedNow(STATUS, [STATUS]);
    expect(status).toEqual([{ topic: STATUS, payload: "online", retain: true }]);
  });

  it("turns window contacts into a binary sensor: all closed is OFF, one open is ON", async () => {
    const closed = all.messages.length;
    await publish(devices, TOPICS.windowLeft, z2mContact(true));
    await publish(devices, TOPICS.windowRight, z2mContact(true));
    const off = await all.waitForFrom(
      closed,
      (message) =>
        message.topic === attributesTopic("living_room_windows") && json(message.payload)["inputs"] === 2,
    );
    await all.waitForFrom(all.messages.indexOf(off), on(stateTopic("living_room_windows"), "OFF"));
    await all.waitForFrom(all.messages.indexOf(off), on(availabilityTopic("living_room_windows"), "online"));

    const opened = all.messages.length;
    await publish(devices, TOPICS.windowLeft, z2mContact(false));
    await all.waitForFrom(opened, on(stateTopic("living_room_windows"), "ON"));

    const states = all.messages
      .filter(on(stateTopic("living_room_windows")))
      .map((message) => message.payload);
    expect(new Set(states)).toEqual(new Set(["OFF", "ON"]));
  });

  it("makes an entity unavailable without fresh inputs, and never publishes 0 for it", async () => {
    await all.waitForFrom(startIndex, on(availabilityTopic("no_inputs"), "offline"));
    const attributes = await all.waitForFrom(startIndex, on(attributesTopic("no_inputs")));
    expect(json(attributes.payload)).toMatchObject({
      inputs: 0,
      unavailable_because: "0 inputs count, needs 1",
    });

    const from = all.messages.length;
    await publish(devices, TOPICS.short, "5");
    const state = await all.waitForFrom(from, on(stateTopic("short_lived"), "5"));
    const online = await all.waitForFrom(
      all.messages.indexOf(state),
      on(availabilityTopic("short_lived"), "online"),
    );
    // max_age is 1 s: a read or two later the reading is stale and the entity unavailable.
    await all.waitForFrom(
      all.messages.indexOf(online),
      on(availabilityTopic("short_lived"), "offline"),
      5_000,
    );

    expect(all.messages.filter(on(stateTopic("no_inputs")))).toEqual([]);
    const shortLivedStates = all.messages
      .filter(on(stateTopic("short_lived")))
      .map((message) => message.payload);
    expect(new Set(shortLivedStates)).toEqual(new Set(["5"]));
  });

  it("publishes every config and state again after Home Assistant's birth message", async () => {
    const from = all.messages.length;
    const lineFrom = program.lines.length;
    await publish(observer, BIRTH, "online", false);
    const config = await all.waitForFrom(from, deviceConfigWith(Object.keys(ALL_ENTITIES)), 5_000);
    expect(deviceDiscoveryProblems(config.topic, config.payload)).toEqual([]);
    // The latest states follow the configs.
    await all.waitForFrom(from, on(stateTopic("living_room_temperature"), "22.0"));
    await program.waitForLine(
      /INFO: Home Assistant restarted; publishing the entities again/,
      1_000,
      lineFrom,
    );
  });

  it("reconnects after the broker restarts, says online again and republishes", async () => {
    const lineFrom = program.lines.length;
    await broker.restart();
    // The observer and the devices lost their connections with the broker; Home Assistant's would too.
    await Promise.all([observer.endAsync(true), devices.endAsync(true)]);
    observer = await connect();
    all = await collect(observer, "#");
    devices = await connect();

    await program.waitForLine(
      /WARNING: Lost the connection to the MQTT broker; reconnecting/,
      5_000,
      lineFrom,
    );
    await program.waitForLine(
      new RegExp(`INFO: Reconnected to the MQTT broker at mqtt://127\\.0\\.0\\.1:${broker.port}`),
      10_000,
      lineFrom,
    );
    await all.waitFor(on(STATUS, "online"), 5_000);
    await all.waitFor(deviceConfigWith(Object.keys(ALL_ENTITIES)), 5_000);

    // A read can publish configs on the new connection before the program's subscriptions are back,
    // and readings sent in that gap are lost: devices report again, as real ones do every few seconds.
    const from = all.messages.length;
    const resumed = all.waitForFrom(from, on(stateTopic("living_room_temperature"), "26.0"), 8_000);
    const reporting = setInterval(() => {
      void publish(devices, TOPICS.tasmota1, tasmota(25.0)).catch(() => undefined);
      void publish(devices, TOPICS.tasmota2, tasmota(27.0)).catch(() => undefined);
    }, 1_000);
    try {
      await publish(devices, TOPICS.tasmota1, tasmota(25.0));
      await publish(devices, TOPICS.tasmota2, tasmota(27.0));
      await resumed;
    } finally {
      clearInterval(reporting);
    }
  });

  it("says offline and exits 0 within 5 s on SIGTERM", async () => {
    const exit = await program.stop("SIGTERM");
    expect(exit, program.output()).toMatchObject({ code: 0, signal: null });
    expect(exit.durationMs).toBeLessThan(5_000);
    await program.waitForLine(/INFO: Received SIGTERM; stopping/, 100);
    await program.waitForLine(/INFO: Stopped$/, 100);
    expect(program.output()).not.toContain("Stopping took too long");

    const status = await retainedNow(STATUS, [STATUS]);
    expect(status).toEqual([{ topic: STATUS, payload: "offline", retain: true }]);
    // The readings survive the restart that follows.
    expect(existsSync(path.join(program.dataDir, "state.json"))).toBe(true);
  });

  it("printed no password, no token and no stack trace, at log level trace", () => {
    const output = program.output();
    expect(output).toMatch(/DEBUG: Read \d+ derived values?/);
    for (const secret of SECRETS) expect(output).not.toContain(secret);
    expect(program.lines.filter((line) => line.text.startsWith("    at "))).toEqual([]);
    expect(program.lines.filter((line) => /\] (ERROR|FATAL):/.test(line.text))).toEqual([]);
    expect(program.lines.filter((line) => line.stream === "stderr")).toEqual([]);
  });
});
