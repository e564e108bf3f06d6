/**
 * Memory holding many tracked sources, in a fresh process that has loaded the add-on's modules
 * (as the add-on's process has): RSS once the store is built, after one message on each of
 * `topics` topics, and after a read (which drops the parsed payloads again when it ends).
 */
import "../../src/app/addon.js";
import { ingestMessage } from "../../src/app/message-intake.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { parseOptions } from "../../src/options/parse-options.js";
import { optionsOf, payloadOf, topicOf, type HomeShape } from "../workload.js";
import {
  asReceived,
  collectGarbage,
  memoryFigures,
  orders,
  tellParent,
  type MemoryFigures,
} from "./process-stats.js";

export interface MemoryOrders {
  readonly shape: HomeShape;
}

export interface MemoryReport {
  /** The add-on's store, or the bare subscriber's Map for comparison. */
  readonly kind: "addon" | "bare";
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
const parsed = parseOptions(optionsOf(given.shape));
if (!parsed.ok) throw new Error(`the bench's options are invalid:\n${parsed.problems.join("\n")}`);
const { settings } = parsed;
const store = new ReadingsStore(settings.rules, {
  ignoredPrefixes: [`${settings.baseTopic}/`, `${settings.discoveryPrefix}/`],
});
collectGarbage();
const empty = memoryFigures();

const now = Date.UTC(2025, 0, 1);
for (let index = 0; index < given.shape.topics; index += 1) {
  // Each payload arrives in its own buffer, as MQTT.js hands it over.
  ingestMessage(store, asReceived(topicOf(index, given.shape)), Buffer.from(payloadOf(index, 0)), now);
}
collectGarbage();
const afterIngest = memoryFigures();
const entities = store.read(now + 1_000).values.length;
collectGarbage();
const afterRead = memoryFigures();

const report: MemoryReport = {
  kind: "addon",
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
