/**
 * Read-time cost in a fresh process: a store holding one reading per topic, then each read
 * computes every rule's derived values and publishes them, as the add-on does: the Evaluation's
 * read (the store's aggregates, then the formulas over them) a slice of sources at a time, then
 * EntityPublisher.publishDerived a slice of entities at a time, with a turn of the event loop between. The publish function encodes every
 * message into an MQTT PUBLISH packet in memory, as MQTT.js would before writing it to the
 * socket, and does not wait for a broker. monitorEventLoopDelay watches the event loop meanwhile.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { ingestMessage } from "../../src/app/message-intake.js";
import { inSlices, readInSlices } from "../../src/app/slices.js";
import type { DerivedValue } from "../../src/core/derived-value.js";
import { Evaluation } from "../../src/core/evaluation.js";
import type { SteppedRead } from "../../src/core/read-job.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { EntityPublisher } from "../../src/homeassistant/entity-publisher.js";
import { parseOptions } from "../../src/options/parse-options.js";
import {
  availabilityPayloadOf,
  availabilityTopicOf,
  optionsOf,
  payloadOf,
  topicOf,
  type HomeShape,
  type RuleSet,
} from "../workload.js";
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
  readonly set: RuleSet;
  readonly mix: Readonly<Record<string, number>>;
  /** Reads after the first, each after every topic got a new payload. */
  readonly reads: number;
}

export interface ReadTiming {
  /** From the read's start to the last entity handed to the publisher, turns of the event loop included. */
  readonly totalMs: number;
  readonly storeReadMs: number;
  readonly publishMs: number;
  /** The longest slice of the read, and of the publishing: what held up the event loop at once. */
  readonly longestReadSliceMs: number;
  readonly longestPublishSliceMs: number;
  /** The event loop's longest delay meanwhile (monitorEventLoopDelay, 1 ms resolution; GC pauses included). */
  readonly eventLoopDelayMaxMs: number;
  readonly readSlices: number;
  readonly messages: number;
  readonly bytes: number;
}

export interface ReadCostReport {
  readonly set: RuleSet;
  readonly rules: number;
  readonly readings: number;
  readonly entities: number;
  /** Inputs looked at: every (entity, source topic) pair, fresh or not. */
  readonly inputs: number;
  readonly first: ReadTiming;
  readonly steady: readonly ReadTiming[];
  /**
   * Reads after a new payload on one sensor in ten, the others as they were: what a home whose
   * sensors report on change pays at a read (a group none of whose inputs changed keeps its value).
   */
  readonly tenthNew: readonly ReadTiming[];
  readonly memory: MemoryFigures;
  /** JSON.parse of every JSON payload once: what any read that parses at read time pays at least. */
  readonly jsonParseFloorMs: number;
  readonly jsonPayloads: number;
  /** The steady reads on the monotonic clock CPU profiles use (µs). */
  readonly steadyWindowsMicros: readonly (readonly [number, number])[];
}

const given = await orders<ReadCostOrders>();
const parsed = parseOptions(optionsOf(given.shape, given.set, given.mix));
if (!parsed.ok) throw new Error(`the bench's options are invalid:\n${parsed.problems.join("\n")}`);
const { settings } = parsed;
const store = new ReadingsStore(settings.rules, {
  ignoredPrefixes: [`${settings.baseTopic}/`, `${settings.discoveryPrefix}/`],
});
const evaluation = new Evaluation(store, settings.rules);

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

const sensors = Array.from({ length: given.shape.topics }, (_, index) =>
  asReceived(topicOf(index, given.shape)),
);
let now = performance.now();
function ingestAll(variant: number, every = 1): void {
  for (const [index, topic] of sensors.entries()) {
    if (index % every !== 0) continue;
    ingestMessage(store, topic, Buffer.from(payloadOf(index, variant)), now);
  }
}
/** One device in eight says where it stands (the store keeps at most 10,000 availability topics); one in twenty of those is offline. */
function announceDevices(): void {
  for (let index = 0; index < given.shape.topics; index += 8) {
    const topic = availabilityTopicOf(index, given.shape);
    if (topic === undefined) continue;
    const online = index % 160 !== 8;
    ingestMessage(store, asReceived(topic), Buffer.from(availabilityPayloadOf(index, online)), now);
  }
}

let firstRead = true;

/** A read as the add-on takes it: its sources a slice at a time, a turn of the event loop between. */
async function inReadSlices(job: SteppedRead, slices: number[]): Promise<DerivedValue[]> {
  await readInSlices(job, { onSlice: (ms) => slices.push(ms) });
  // The values are made after the last slice (and the formulas computed): timed as a slice of its own.
  const from = performance.now();
  const { values } = job.result();
  slices.push(performance.now() - from);
  return values;
}
async function timedRead(): Promise<{ timing: ReadTiming; entities: number; inputs: number }> {
  messages = 0;
  bytes = 0;
  const readSlices: number[] = [];
  const publishSlices: number[] = [];
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // Its first tick only starts the clock: a pause before it would go unseen.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const started = performance.now();
  // In the add-on, the messages' flush of changes (rules on change) comes first, a tenth of a
  // second after them; then the read, which leaves out what the flush computed. Both are timed here.
  const flushed = evaluation.hasChanges
    ? await inReadSlices(evaluation.beginReadChanged(now), readSlices)
    : [];
  // After the first, as the add-on's reads do: entities whose inputs did not change are left out.
  const read = await inReadSlices(
    evaluation.beginRead(now, undefined, undefined, { onlyChanged: !firstRead }),
    readSlices,
  );
  firstRead = false;
  const derived = [...flushed, ...read];
  const readDone = performance.now();
  // As the add-on publishes: new entities into their devices' configs first, then the states.
  const introducing = performance.now();
  await publisher.introduce(derived.map((value) => value.identity));
  publishSlices.push(performance.now() - introducing);
  await inSlices(derived, async (slice: readonly DerivedValue[]) => {
    const from = performance.now();
    await publisher.publishDerived(slice.map((value) => ({ derived: value })));
    publishSlices.push(performance.now() - from);
  });
  const finished = performance.now();
  delay.disable();
  let inputs = 0;
  for (const { counts } of derived)
    inputs += counts.counted + counts.stale + counts.offline + counts.unusable + counts.out_of_range;
  return {
    timing: {
      totalMs: finished - started,
      storeReadMs: readDone - started,
      publishMs: finished - readDone,
      longestReadSliceMs: Math.max(0, ...readSlices),
      longestPublishSliceMs: Math.max(0, ...publishSlices),
      eventLoopDelayMaxMs: delay.max / 1e6,
      readSlices: readSlices.length,
      messages,
      bytes,
    },
    entities: derived.length,
    inputs,
  };
}

announceDevices();
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
const tenthNew: ReadTiming[] = [];
for (let read = 1; read <= given.reads; read += 1) {
  // Well within max_age: only the changed payloads can change a value.
  now += 1_000;
  ingestAll(given.reads + read, 10);
  collectGarbage();
  tenthNew.push((await timedRead()).timing);
}
// The floor: parse each JSON payload once, as the best possible read would, and nothing else.
const jsonPayloads = sensors
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
  set: given.set,
  jsonParseFloorMs: Math.min(...floors),
  jsonPayloads: jsonPayloads.length,
  rules: settings.rules.length,
  readings: store.trackedTopicCount,
  entities: first.entities,
  inputs: first.inputs,
  first: first.timing,
  steady,
  tenthNew,
  memory: memoryFigures(),
  steadyWindowsMicros,
};
await tellParent(report);
process.exit(0);

function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
