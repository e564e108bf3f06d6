/**
 * Publishes a run of readings at QoS 0 on an MQTT.js connection, as fast as the socket takes
 * them, then one QoS 1 message: the broker acknowledges it only after handling everything sent
 * before it, so when this child reports, the whole run is at the broker.
 *
 * The QoS 0 PUBLISH packets are encoded once up front and written to the client's socket in
 * batches: MQTT.js's publish() manages about 30,000 messages/s here, which would make the
 * publisher, not the subscribers, the slow part of every round (the subscribers' figures do not
 * depend on it in the default backlog mode; in live mode a faster publisher is a harder test).
 */
import { once } from "node:events";
import mqtt from "mqtt";
import { messageOf, type HomeShape } from "../workload.js";
import { tellParent } from "./process-stats.js";
import { encodePublish } from "./publish-packet.js";
import { SYNC_TOPIC } from "./protocol.js";

export interface PublisherOrders {
  readonly port: number;
  readonly shape: HomeShape;
  /** Number of the first message of the bench's stream (workload.ts, messageOf). */
  readonly from: number;
  readonly count: number;
  /**
   * Sends the run in this many parts with `pauseMs` between them (a warm-up): the add-on's
   * updates on change then run a flush per part, as they do all day, and are compiled by the time
   * the burst comes, rather than during it.
   */
  readonly parts?: number;
  readonly pauseMs?: number;
}

export interface PublisherReport {
  readonly published: number;
  readonly elapsedMs: number;
}

const BATCH = 256;
/** Above this many bytes waiting in the socket, wait for it to drain: the burst stays in the broker, not here. */
const HIGH_WATER = 1 << 20;

const given = await new Promise<PublisherOrders>((resolve) => {
  process.once("message", (message) => {
    resolve(message as PublisherOrders);
  });
});
const { shape } = given;
// The stream repeats itself (a few payloads per topic), so each distinct message is encoded once.
const encoded = new Map<string, Buffer>();
const packets: Buffer[] = [];
for (let k = given.from; k < given.from + given.count; k += 1) {
  const { topic, payload } = messageOf(k, shape);
  const key = `${topic}\u0000${payload}`;
  let packet = encoded.get(key);
  if (packet === undefined) {
    packet = encodePublish(topic, payload, 0, false);
    encoded.set(key, packet);
  }
  packets.push(packet);
}

const client = await mqtt.connectAsync({
  host: "127.0.0.1",
  port: given.port,
  protocolVersion: 4,
  clientId: `bench_publisher_${process.pid}`,
  clean: true,
  reconnectPeriod: 0,
});
const stream = client.stream as NodeJS.WritableStream & { writableLength: number };
const started = performance.now();
const parts = Math.max(1, given.parts ?? 1);
const partSize = Math.ceil(packets.length / parts);
let batch: Buffer[] = [];
for (const [index, packet] of packets.entries()) {
  if (index > 0 && index % partSize === 0)
    await new Promise((resolve) => setTimeout(resolve, given.pauseMs ?? 0));
  batch.push(packet);
  if (batch.length === BATCH || index === packets.length - 1 || (index + 1) % partSize === 0) {
    stream.write(Buffer.concat(batch));
    batch = [];
    if (stream.writableLength > HIGH_WATER) await once(stream, "drain");
  }
}
await client.publishAsync(SYNC_TOPIC, "", { qos: 1 });
const elapsedMs = performance.now() - started;
await client.endAsync();
const report: PublisherReport = { published: given.count, elapsedMs };
await tellParent(report);
process.exit(0);
