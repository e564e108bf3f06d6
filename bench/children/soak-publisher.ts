/**
 * The soak's load: the bench's message stream at a steady rate, over a window of sensors that
 * moves through a larger set, so that sources keep going quiet and coming back (see soak.ts). As
 * devices do, a sensor's device says it is online when the sensor comes into the window and
 * offline (its LWT) when it leaves. Publishes every 10 ms until told to stop, then reports how
 * many it sent.
 */
import mqtt from "mqtt";
import { availabilityPayloadOf, availabilityTopicOf, messageOf, type HomeShape } from "../workload.js";
import { orders, tellParent } from "./process-stats.js";
import { encodePublish } from "./publish-packet.js";

export interface SoakLoad {
  /** Sensors publishing at any one time. */
  readonly active: number;
  /** Sensors in all; the window of active ones moves through them. */
  readonly universe: number;
  /** How many sensors the window moves on per second. */
  readonly shiftPerSecond: number;
  readonly rate: number;
  readonly rooms: number;
}

export interface SoakPublisherOrders {
  readonly port: number;
  readonly load: SoakLoad;
}

export interface SoakPublisherReport {
  readonly sent: number;
}

/** Where the window of active sensors starts, `seconds` into the soak. */
function windowStart(seconds: number, load: SoakLoad): number {
  return Math.floor(seconds * load.shiftPerSecond);
}

/** The sensor of message k sent at `seconds` into the soak: one of the window's, the window moving on. */
function soakSensorOf(k: number, seconds: number, load: SoakLoad): number {
  return (windowStart(seconds, load) + (k % load.active)) % load.universe;
}

const given = await orders<SoakPublisherOrders>();
const { load } = given;
const shape: Pick<HomeShape, "topics" | "rooms"> = { topics: load.active, rooms: load.rooms };
const client = await mqtt.connectAsync({
  host: "127.0.0.1",
  port: given.port,
  protocolVersion: 4,
  clientId: `bench_soak_publisher_${process.pid}`,
  clean: true,
  reconnectPeriod: 0,
});
const stream = client.stream as NodeJS.WritableStream;
const packets = new Map<string, Buffer>();
const started = performance.now();
function encoded(topic: string, payload: string): Buffer {
  const key = `${topic}\u0000${payload}`;
  let packet = packets.get(key);
  if (packet === undefined) {
    packet = encodePublish(topic, payload, 0, false);
    // A bounded cache: the stream's distinct messages are a few per sensor.
    if (packets.size < 200_000) packets.set(key, packet);
  }
  return packet;
}

let sent = 0;
let streamed = 0;
let lastStart = 0;
const timer = setInterval(() => {
  const seconds = (performance.now() - started) / 1000;
  const due = Math.floor(seconds * load.rate);
  const batch: Buffer[] = [];
  const start = windowStart(seconds, load);
  for (; lastStart < start; lastStart += 1) {
    for (const [sensor, online] of [
      [lastStart % load.universe, false],
      [(lastStart + load.active) % load.universe, true],
    ] as const) {
      const topic = availabilityTopicOf(sensor, shape);
      if (topic === undefined) continue;
      batch.push(encoded(topic, availabilityPayloadOf(sensor, online)));
      sent += 1;
    }
  }
  for (; sent < due; sent += 1, streamed += 1) {
    const { topic, payload } = messageOf(streamed, shape, (k) => soakSensorOf(k, seconds, load));
    batch.push(encoded(topic, payload));
  }
  if (batch.length > 0) stream.write(Buffer.concat(batch));
}, 10);

process.on("message", (message: { kind: string }) => {
  if (message.kind !== "stop") return;
  clearInterval(timer);
  void client
    .endAsync()
    .catch(() => undefined)
    .then(() => tellParent({ sent } satisfies SoakPublisherReport))
    .finally(() => process.exit(0));
});
