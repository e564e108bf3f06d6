import type { IPublishPacket } from "mqtt-packet";
import { afterEach, describe, expect, it } from "vitest";

import {
  connectClient,
  connectProtocolLevel,
  mosquittoAvailable,
  startAedes,
  startMosquitto,
  type TestBroker,
} from "../support/brokers.js";
import { startProgram, stopAllPrograms } from "../support/program.js";

/**
 * The built program speaks MQTT 5 where the broker does (Mosquitto), and falls back to 3.1.1
 * where it does not (aedes, and Mosquitto behind a gate that answers MQTT 5 as 3.1.1-only brokers
 * did). With MQTT 5 its retained states expire, so a stopped add-on's values do not linger;
 * discovery configs and availability never do.
 */

const READ_INTERVAL_S = 1;
const RULE = {
  name: "Living room temperature",
  topic: "home/tele/+/livingroom/#",
  value_path: "*.Temperature",
  function: "mean",
  unit: "°C",
  device_class: "temperature",
};
const STATE = "mqtt_aggregator/living_room_temperature/state";
const ATTRIBUTES = "mqtt_aggregator/living_room_temperature/attributes";
const AVAILABILITY = "mqtt_aggregator/living_room_temperature/availability";
const STATUS = "mqtt_aggregator/status";
/** Every discovery config the add-on publishes is under it. */
const DISCOVERY = "homeassistant/#";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await stopAllPrograms();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function started(broker: TestBroker): TestBroker {
  cleanups.push(() => broker.stop());
  return broker;
}

async function programOn(broker: TestBroker) {
  const program = await startProgram({
    options: {
      first_read_delay: 1,
      read_interval: READ_INTERVAL_S,
      rules: [RULE],
      mqtt: { host: broker.host, port: broker.port },
    },
  });
  const sensor = await connectClient(broker);
  cleanups.push(() => sensor.endAsync(true));
  await sensor.publishAsync(
    "home/tele/th1/livingroom/SENSOR",
    JSON.stringify({ AM2301: { Temperature: 21.5 } }),
    { retain: true },
  );
  return program;
}

/** The retained messages on `filters` a fresh MQTT 5 subscriber gets, with their packets. */
async function retainedOn(
  broker: TestBroker,
  filters: string[],
  settleMs = 500,
): Promise<Map<string, IPublishPacket>> {
  const client = await connectClient(broker, { protocolVersion: 5 });
  const found = new Map<string, IPublishPacket>();
  client.on("message", (topic, _payload, packet) => {
    if (packet.retain) found.set(topic, packet);
  });
  await client.subscribeAsync(filters, { qos: 1 });
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  await client.endAsync(true);
  return found;
}

/** The first state the add-on publishes, live or retained. */
async function firstState(broker: TestBroker): Promise<string> {
  const client = await connectClient(broker);
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no state on ${STATE} within 10 s`)), 10_000);
      client.on("message", (topic, payload) => {
        if (topic !== STATE) return;
        clearTimeout(timer);
        resolve(payload.toString());
      });
      void client.subscribeAsync(STATE);
    });
  } finally {
    await client.endAsync(true);
  }
}

describe("the gate of a 3.1.1-only broker", () => {
  it("reads the protocol level of a CONNECT", () => {
    // CONNECT, remaining length, "MQTT", level.
    expect(connectProtocolLevel(Buffer.from([0x10, 0x10, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05]))).toBe(5);
    expect(connectProtocolLevel(Buffer.from([0x10, 0x10, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04]))).toBe(4);
    expect(connectProtocolLevel(Buffer.from([0x10, 0x10, 0x00, 0x04, 0x4d]))).toBeUndefined();
    expect(connectProtocolLevel(Buffer.from([0x30, 0x00]))).toBe("not connect");
  });
});

describe.runIf(mosquittoAvailable() || process.env["CI"] === "true")("MQTT 5 with Mosquitto", () => {
  it("connects with MQTT 5, and retained states expire while configs and availability stay", async () => {
    const broker = started(await startMosquitto());
    const program = await programOn(broker);
    await program.waitForLine(/INFO: Connected to the MQTT broker at mqtt:\/\/127\.0\.0\.1:\d+ with MQTT 5$/);
    await firstState(broker);

    const whileRunning = await retainedOn(broker, [STATE, ATTRIBUTES, AVAILABILITY, STATUS, DISCOVERY]);
    const state = whileRunning.get(STATE);
    expect(state?.payload.toString(), program.output()).toBe("21.5");
    // A few read intervals, less what has passed since the publish.
    const expiry = state?.properties?.messageExpiryInterval ?? 0;
    expect(expiry).toBeGreaterThan(0);
    expect(expiry).toBeLessThanOrEqual(4 * READ_INTERVAL_S);
    expect(whileRunning.get(ATTRIBUTES)?.properties?.messageExpiryInterval).toBeGreaterThan(0);
    for (const topic of [AVAILABILITY, STATUS]) {
      expect(whileRunning.get(topic)?.properties?.messageExpiryInterval, topic).toBeUndefined();
    }
    const configs = [...whileRunning.entries()].filter(([topic]) => topic.endsWith("/config"));
    expect(configs.length).toBeGreaterThan(0);
    for (const [, packet] of configs) expect(packet.properties?.messageExpiryInterval).toBeUndefined();

    expect((await program.stop()).code).toBe(0);
    // Past the expiry of the last state the add-on published.
    await new Promise((resolve) => setTimeout(resolve, (4 * READ_INTERVAL_S + 1) * 1000));
    const afterStop = await retainedOn(broker, [STATE, ATTRIBUTES, AVAILABILITY, STATUS, DISCOVERY]);
    expect(afterStop.has(STATE), "the state outlived its expiry").toBe(false);
    expect(afterStop.has(ATTRIBUTES)).toBe(false);
    expect(afterStop.get(STATUS)?.payload.toString()).toBe("offline");
    expect(afterStop.has(AVAILABILITY)).toBe(true);
    expect([...afterStop.keys()].some((topic) => topic.endsWith("/config"))).toBe(true);
  }, 30_000);

  it("renews unchanged states before they expire while it runs", async () => {
    const broker = started(await startMosquitto());
    const program = await programOn(broker);
    await program.waitForLine(/with MQTT 5$/);
    await firstState(broker);
    // Many times the expiry, with a value that never changes.
    await new Promise((resolve) => setTimeout(resolve, 3 * 4 * READ_INTERVAL_S * 1000));
    const retained = await retainedOn(broker, [STATE]);
    expect(retained.get(STATE)?.payload.toString(), program.output()).toBe("21.5");
  }, 30_000);

  for (const only311 of ["refuse", "close"] as const) {
    it(`falls back to MQTT 3.1.1 with a 3.1.1-only Mosquitto (MQTT 5 gets ${only311 === "refuse" ? "a refusal" : "a closed connection"})`, async () => {
      const broker = started(await startMosquitto({ only311 }));
      const program = await programOn(broker);
      await program.waitForLine(
        only311 === "refuse"
          ? /INFO: The MQTT broker at mqtt:\/\/127\.0\.0\.1:\d+ does not take MQTT 5 \(unacceptable protocol version\); connecting with MQTT 3\.1\.1/
          : /INFO: The MQTT broker at mqtt:\/\/127\.0\.0\.1:\d+ does not take MQTT 5 \(it closed the connection without answering\)/,
      );
      await program.waitForLine(/INFO: Connected to the MQTT broker at .* with MQTT 3\.1\.1$/, 10_000);
      expect(await firstState(broker)).toBe("21.5");
      expect(program.output()).not.toMatch(/ERROR|WARN/);
    }, 20_000);
  }
});

describe("MQTT 3.1.1 with aedes", () => {
  it("falls back to 3.1.1 when the broker refuses MQTT 5, says so once, and publishes without expiry", async () => {
    const broker = started(await startAedes());
    const program = await programOn(broker);
    await program.waitForLine(
      /INFO: The MQTT broker at mqtt:\/\/127\.0\.0\.1:\d+ does not take MQTT 5 \(unacceptable protocol version\); connecting with MQTT 3\.1\.1$/,
    );
    await program.waitForLine(/INFO: Connected to the MQTT broker at .* with MQTT 3\.1\.1$/, 10_000);
    expect(await firstState(broker)).toBe("21.5");

    // A broker restart: the add-on comes back with 3.1.1 at once, and does not say it again.
    await broker.restart();
    await program.waitForLine(/INFO: Reconnected to the MQTT broker at .* with MQTT 3\.1\.1$/, 15_000);
    expect(program.output().match(/does not take MQTT 5/g)).toHaveLength(1);
  }, 30_000);
});
