/**
 * The memory limit for comparison: a bare MQTT.js subscriber's Map holding the latest payload of
 * each topic (MQTT.js loaded, as in the bare subscriber), fed the same messages as memory.ts.
 */
import "mqtt";
import { holdingMessages } from "../workload.js";
import { asReceived, collectGarbage, memoryFigures, orders, tellParent } from "./process-stats.js";
import type { MemoryOrders, MemoryReport } from "./memory.js";

const given = await orders<MemoryOrders>();
const latest = new Map<string, string>();
collectGarbage();
const empty = memoryFigures();
for (const { topic, payload } of holdingMessages(given.shape.topics, given.shape)) {
  latest.set(asReceived(topic), Buffer.from(payload).toString());
}
collectGarbage();
const held = memoryFigures();
const report: MemoryReport = {
  kind: "bare",
  set: undefined,
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
