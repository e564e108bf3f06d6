/**
 * The memory limit for comparison: a bare MQTT.js subscriber's Map holding the latest payload of
 * `topics` topics (MQTT.js loaded, as in the bare subscriber), filled the same way as memory.ts.
 */
import "mqtt";
import { payloadOf, topicOf } from "../workload.js";
import { asReceived, collectGarbage, memoryFigures, orders, tellParent } from "./process-stats.js";
import type { MemoryOrders, MemoryReport } from "./memory.js";

const given = await orders<MemoryOrders>();
const latest = new Map<string, string>();
collectGarbage();
const empty = memoryFigures();
for (let index = 0; index < given.shape.topics; index += 1) {
  latest.set(asReceived(topicOf(index, given.shape)), Buffer.from(payloadOf(index, 0)).toString());
}
collectGarbage();
const held = memoryFigures();
const report: MemoryReport = {
  kind: "bare",
  tracked: latest.size,
  rules: 0,
  entities: 0,
  empty,
  afterIngest: held,
  afterRead: held,
  peakRssBytes: held.peakRssBytes,
  gcExposed: (globalThis as { gc?: unknown }).gc !== undefined,
};
await tellParent(report);
process.exit(0);
