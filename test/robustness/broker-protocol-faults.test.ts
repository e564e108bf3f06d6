import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import mqttPacket, { type ISubscribePacket } from "mqtt-packet";

import {
  grantAll,
  startFakeMqttBroker,
  type FakeBrokerScript,
  type FakeMqttBroker,
} from "../support/fake-mqtt-broker.js";
import { startProgram, stopAllPrograms, type RunningProgram } from "../support/program.js";

/**
 * Brokers that break the protocol in ways Mosquitto and aedes never do, played by a fake broker
 * on a loopback port: the built program logs, reconnects and keeps reading; it never exits.
 */

const RULE = {
  name: "Living room temperature",
  topic: "home/tele/+/livingroom/#",
  value_path: "*.Temperature",
  function: "mean",
};
const STATE_TOPIC = "mqtt_aggregator/living_room_temperature/state";
const ATTRIBUTES_TOPIC = "mqtt_aggregator/living_room_temperature/attributes";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await stopAllPrograms();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function programAgainst(script: FakeBrokerScript, args: readonly string[] = []) {
  const broker = await startFakeMqttBroker(script);
  cleanups.push(() => broker.close());
  const program = await startProgram({
    options: {
      log_level: "debug",
      first_read_delay: 1,
      read_interval: 1,
      rules: [RULE],
      mqtt: { host: broker.host, port: broker.port },
    },
    args,
  });
  return { broker, program };
}

function expectAliveWithoutStackTrace(program: RunningProgram): void {
  expect(program.hasExited, program.output()).toBe(false);
  expect(
    program.lines.filter((line) => line.text.startsWith("    at ") || /unhandled/i.test(line.text)),
    program.output(),
  ).toEqual([]);
}

/**
 * A living-room sensor whose temperature changes every 400 ms: states are published only when
 * they change, so a test that wants publishes read after read needs values that change.
 */
function feedChangingTemperatures(broker: FakeMqttBroker): void {
  let temperature = 20;
  const timer = setInterval(() => {
    temperature += 0.5;
    broker.send({
      cmd: "publish",
      topic: "home/tele/t1/livingroom/SENSOR",
      payload: JSON.stringify({ AM2301: { Temperature: temperature } }),
      qos: 0,
      dup: false,
      retain: false,
    });
  }, 400);
  cleanups.push(() => {
    clearInterval(timer);
    return Promise.resolve();
  });
}

function publishedOn(broker: FakeMqttBroker, topic: string): number {
  return broker.received.filter(({ packet }) => packet.cmd === "publish" && packet.topic === topic).length;
}

/** On the first connection only: later ones are granted, so the program can settle. */
function firstConnectionOnly(
  answer: (packet: ISubscribePacket) => Buffer | undefined,
): NonNullable<FakeBrokerScript["suback"]> {
  return (packet, connection) => (connection === 1 ? answer(packet) : grantAll(packet));
}

describe("the SUBACK of a faulty broker", () => {
  it.each([
    [
      "with fewer return codes than subscriptions",
      (packet: ISubscribePacket) =>
        mqttPacket.generate({ cmd: "suback", messageId: packet.messageId ?? 0, granted: [0] }),
    ],
    [
      "with a return code MQTT 3.1.1 does not have",
      // Written by hand: mqtt-packet refuses to generate it.
      (packet: ISubscribePacket) =>
        Buffer.from([
          0x90,
          2 + packet.subscriptions.length,
          (packet.messageId ?? 0) >> 8,
          (packet.messageId ?? 0) & 0xff,
          ...packet.subscriptions.map(() => 0x03),
        ]),
    ],
  ])("%s: logged, then the program reconnects and listens", async (_what, answer) => {
    const { broker, program } = await programAgainst({ suback: firstConnectionOnly(answer) });
    await program.waitForLine(/ERROR: The MQTT broker broke the protocol/, 8_000);
    await broker.waitFor(({ connection, packet }) => connection === 2 && packet.cmd === "connect", 8_000);
    await program.waitForLine(/Listening to 1 topic filter/, 8_000);
    expectAliveWithoutStackTrace(program);
  });

  it("never coming: after 10 s, logged, then the program reconnects and listens", async () => {
    const { broker, program } = await programAgainst({ suback: firstConnectionOnly(() => undefined) });
    await program.waitForLine(
      /ERROR: The MQTT broker broke the protocol \(no answer to SUBSCRIBE within 10 s\); reconnecting$/,
      15_000,
    );
    await broker.waitFor(({ connection, packet }) => connection === 2 && packet.cmd === "connect", 8_000);
    await program.waitForLine(/Listening to 1 topic filter/, 8_000);
    expectAliveWithoutStackTrace(program);
  });

  it("refusing a subscription (0x80): logged, the program stays connected and keeps publishing", async () => {
    const { broker, program } = await programAgainst({
      suback: (packet) =>
        mqttPacket.generate({
          cmd: "suback",
          messageId: packet.messageId ?? 0,
          granted: packet.subscriptions.map((subscription) => (subscription.topic === RULE.topic ? 0x80 : 0)),
        }),
    });
    await program.waitForLine(
      /ERROR: The MQTT broker refused the subscription to home\/tele\/\+\/livingroom\/#/,
      8_000,
    );
    // Read after read, the entity is published (unavailable, for want of readings: its
    // attributes, once, since nothing changes), and the reads go on.
    await broker.waitFor(
      ({ packet }) => packet.cmd === "publish" && packet.topic === ATTRIBUTES_TOPIC,
      8_000,
    );
    const reads = () =>
      program.lines.filter((line) => /DEBUG: Read \d+ derived value/.test(line.text)).length;
    const readsBefore = reads();
    await program.waitForLine(/DEBUG: Read \d+ derived value/, 8_000, program.lines.length);
    await program.waitForLine(/DEBUG: Read \d+ derived value/, 8_000, program.lines.length);
    expect(reads()).toBeGreaterThanOrEqual(readsBefore + 2);
    expect(broker.received.filter(({ packet }) => packet.cmd === "connect")).toHaveLength(1);
    expectAliveWithoutStackTrace(program);
  });
});

describe("a broker that answers pings but withholds every PUBACK", () => {
  it("holds up neither the reads nor the saves", async () => {
    const { broker, program } = await programAgainst({ puback: false });
    await broker.waitFor(({ packet }) => packet.cmd === "subscribe");
    feedChangingTemperatures(broker);
    // Read after read, each with its state, although not one QoS 1 message was acknowledged.
    await broker.waitFor(() => publishedOn(broker, STATE_TOPIC) >= 3, 10_000);
    const states = broker.received.flatMap(({ packet }) =>
      packet.cmd === "publish" && packet.topic === STATE_TOPIC ? [packet] : [],
    );
    expect(states.every((packet) => packet.qos === 1)).toBe(true);
    expect(states.map((packet) => Number(packet.payload.toString())).every((value) => value > 20)).toBe(true);
    const saved = JSON.parse(await readFile(join(program.dataDir, "state.json"), "utf8")) as {
      readings: { topic: string }[];
    };
    expect(saved.readings.map((reading) => reading.topic)).toEqual(["home/tele/t1/livingroom/SENSOR"]);
    expect(broker.received.filter(({ packet }) => packet.cmd === "connect")).toHaveLength(1);
    expectAliveWithoutStackTrace(program);
  });

  it("is left for a fresh connection once it has acknowledged nothing for a minute", async () => {
    // A minute is a second and a half here.
    const { broker, program } = await programAgainst({ puback: false }, ["--ack-timeout-ms", "1500"]);
    await broker.waitFor(({ packet }) => packet.cmd === "subscribe");
    feedChangingTemperatures(broker);
    await program.waitForLine(
      /ERROR: The MQTT broker acknowledged none of \d+ messages for 2 s; reconnecting$/,
      10_000,
    );
    await broker.waitFor(({ connection, packet }) => connection === 2 && packet.cmd === "connect", 8_000);
    await program.waitForLine(/INFO: Reconnected to the MQTT broker/, 8_000);
    await broker.waitFor(
      ({ connection, packet }) =>
        connection === 2 && packet.cmd === "publish" && packet.topic === ATTRIBUTES_TOPIC,
      8_000,
    );
    expectAliveWithoutStackTrace(program);
  });
});
