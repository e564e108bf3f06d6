/**
 * Read-time cost in a fresh process: a store holding one reading per topic, then each read
 * computes every rule's derived values (store.read) and publishes them (EntityPublisher.
 * publishDerived). The publish function encodes every message into an MQTT PUBLISH packet in
 * memory, as MQTT.js would before writing it to the socket, and does not wait for a broker.
 */
import { ingestMessage } from "../../src/app/message-intake.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { EntityPublisher } from "../../src/homeassistant/entity-publisher.js";
import { parseOptions } from "../../src/options/parse-options.js";
import { optionsOf, payloadOf, topicOf, type HomeShape } from "../workload.js";
import { encodePublish } from "./publish-packet.js";
import {
  asReceived,
  collectGarbage,
  memoryFigures,
  orders,
  tellParent,
  type MemoryFigures,
} from "./process-stats.js";

export interface ReadCostOrders {
  readonly shape: HomeShape;
  /** Reads after the first, each after every topic got a new payload. */
  readonly reads: number;
}

export interface ReadTiming {
  readonly totalMs: number;
  readonly storeReadMs: number;
  readonly publishMs: number;
  readonly messages: number;
  readonly bytes: number;
}

export interface ReadCostReport {
  readonly rules: number;
  readonly readings: number;
  readonly entities: number;
  /** Inputs looked at: every (entity, source topic) pair, fresh or not. */
  readonly inputs: number;
  readonly first: ReadTiming;
  readonly steady: readonly ReadTiming[];
  readonly memory: MemoryFigures;
  /** JSON.parse of every JSON payload once: what any read that parses at read time pays at least. */
  readonly jsonParseFloorMs: number;
  readonly jsonPayloads: number;
  /** The steady reads on the monotonic clock CPU profiles use (µs). */
  readonly steadyWindowsMicros: readonly (readonly [number, number])[];
}

const given = await orders<ReadCostOrders>();
const parsed = parseOptions(optionsOf(given.shape));
if (!parsed.ok) throw new Error(`the bench's options are invalid:\n${parsed.problems.join("\n")}`);
const { settings } = parsed;
const store = new ReadingsStore(settings.rules, {
  ignoredPrefixes: [`${settings.baseTopic}/`, `${settings.discoveryPrefix}/`],
});

let messages = 0;
let bytes = 0;
const publisher = new EntityPublisher({
  layout: { discoveryPrefix: settings.discoveryPrefix, baseTopic: settings.baseTopic },
  addon: { version: "bench", supportUrl: "https://example.invalid/bench" },
  rules: settings.rules,
  publish: (topic, payload, options) => {
    const packet = encodePublish(topic, payload, options.qos, options.retain);
    messages += 1;
    bytes += packet.length;
    return Promise.resolve(true);
  },
});

const topics = Array.from({ length: given.shape.topics }, (_, index) =>
  asReceived(topicOf(index, given.shape)),
);
let now = Date.UTC(2025, 0, 1);
function ingestAll(variant: number): void {
  for (const [index, topic] of topics.entries()) {
    ingestMessage(store, topic, Buffer.from(payloadOf(index, variant)), now);
  }
}

async function timedRead(): Promise<{ timing: ReadTiming; entities: number; inputs: number }> {
  messages = 0;
  bytes = 0;
  const started = performance.now();
  const derived = store.read(now).values;
  const readDone = performance.now();
  await publisher.publishDerived(derived.map((value) => ({ derived: value })));
  const finished = performance.now();
  let inputs = 0;
  for (const { counts } of derived)
    inputs += counts.counted + counts.stale + counts.offline + counts.unusable + counts.out_of_range;
  return {
    timing: {
      totalMs: finished - started,
      storeReadMs: readDone - started,
      publishMs: finished - readDone,
      messages,
      bytes,
    },
    entities: derived.length,
    inputs,
  };
}

ingestAll(0);
// As on a connection: the announcement first, so the first read also sends the device configs.
await publisher.announce([]);
collectGarbage();
const first = await timedRead();
const steady: ReadTiming[] = [];
const steadyWindowsMicros: [number, number][] = [];
for (let read = 1; read <= given.reads; read += 1) {
  now += 60_000;
  // New payloads everywhere: every JSON payload is parsed again, as at a real read interval.
  ingestAll(read);
  collectGarbage();
  const from = monotonicMicros();
  steady.push((await timedRead()).timing);
  steadyWindowsMicros.push([from, monotonicMicros()]);
}
// The floor: parse each JSON payload once, as the best possible read would, and nothing else.
const jsonPayloads = topics
  .map((_, index) => payloadOf(index, given.reads + 1))
  .filter((text) => text.startsWith("{"));
const floors: number[] = [];
for (let attempt = 0; attempt < 3; attempt += 1) {
  collectGarbage();
  const from = performance.now();
  for (const text of jsonPayloads) JSON.parse(text);
  floors.push(performance.now() - from);
}

const report: ReadCostReport = {
  jsonParseFloorMs: Math.min(...floors),
  jsonPayloads: jsonPayloads.length,
  rules: settings.rules.length,
  readings: store.trackedTopicCount,
  entities: first.entities,
  inputs: first.inputs,
  first: first.timing,
  steady,
  memory: memoryFigures(),
  steadyWindowsMicros,
};
await tellParent(report);
process.exit(0);

function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
