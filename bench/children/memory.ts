/**
 * Memory holding many tracked sources, in a fresh process that has loaded the add-on's modules
 * (as the add-on's process has): RSS and heap once the store is built, after one message on each
 * of `sources` topics (readings, and one device in sixteen saying it is online),
 * and after a read (which drops the parsed payloads again when it ends).
 */
import "../../src/app/addon.js";
import { ingestMessage } from "../../src/app/message-intake.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { parseOptions } from "../../src/options/parse-options.js";
import { holdingMessages, optionsOf, type HomeShape, type RuleSet } from "../workload.js";
import {
  asReceived,
  collectGarbage,
  memoryFigures,
  orders,
  tellParent,
  type MemoryFigures,
} from "./process-stats.js";

export interface MemoryOrders {
  /** `topics` is the number of topics to hold (workload.ts, holdingMessages). */
  readonly shape: HomeShape;
  readonly set: RuleSet;
  readonly mix: Readonly<Record<string, number>>;
}

export interface MemoryReport {
  /** The add-on's store under a rule set, or the bare subscriber's Map for comparison. */
  readonly kind: "addon" | "bare";
  readonly set: RuleSet | undefined;
  readonly tracked: number;
  readonly rules: number;
  readonly entities: number;
  readonly empty: MemoryFigures;
  readonly afterIngest: MemoryFigures;
  readonly afterRead: MemoryFigures;
  /** The process's high-water mark over the whole fill and read, garbage included. */
  readonly peakRssBytes: number;
  readonly gcExposed: boolean;
}

const given = await orders<MemoryOrders>();
const parsed = parseOptions(optionsOf(given.shape, given.set, given.mix));
if (!parsed.ok) throw new Error(`the bench's options are invalid:\n${parsed.problems.join("\n")}`);
const { settings } = parsed;
const store = new ReadingsStore(settings.rules, {
  ignoredPrefixes: [`${settings.baseTopic}/`, `${settings.discoveryPrefix}/`],
});
collectGarbage();
const empty = memoryFigures();

const now = performance.now();
for (const { topic, payload } of holdingMessages(given.shape.topics, given.shape)) {
  // Each payload arrives in its own buffer, as MQTT.js hands it over.
  ingestMessage(store, asReceived(topic), Buffer.from(payload), now);
}
collectGarbage();
const afterIngest = memoryFigures();
const entities = store.read(now + 1_000).values.length;
collectGarbage();
const afterRead = memoryFigures();

const report: MemoryReport = {
  kind: "addon",
  set: given.set,
  tracked: store.trackedTopicCount,
  rules: settings.rules.length,
  entities,
  empty,
  afterIngest,
  afterRead,
  peakRssBytes: afterRead.peakRssBytes,
  gcExposed: (globalThis as { gc?: unknown }).gc !== undefined,
};
await tellParent(report);
process.exit(0);
