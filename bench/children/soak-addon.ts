/**
 * The add-on in a soak: its own wiring (startAddon, src/app/addon.ts) with the featured rules,
 * reads at their interval, updates on change, saves into a temp folder, against the bench's broker.
 * Every `sampleEvery` seconds it collects garbage and reports its live heap and RSS.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startAddon } from "../../src/app/addon.js";
import { createLogger } from "../../src/logging/logger.js";
import { parseOptions } from "../../src/options/parse-options.js";
import { memoryFigures, orders, tellParent } from "./process-stats.js";

export interface SoakAddonOrders {
  readonly port: number;
  readonly options: Record<string, unknown>;
  readonly sampleEverySeconds: number;
}

export interface SoakSample {
  readonly kind: "sample";
  readonly seconds: number;
  readonly tracked: number;
  /** Live heap: heapUsed right after a full collection. */
  readonly heapUsedBytes: number;
  readonly rssBytes: number;
  /** CPU since the start, but for the forced collections of the samples themselves. */
  readonly cpuMicros: number;
}

const given = await orders<SoakAddonOrders>();
const parsed = parseOptions({ ...given.options, mqtt: { host: "127.0.0.1", port: given.port } });
if (!parsed.ok) throw new Error(`the soak's options are invalid:\n${parsed.problems.join("\n")}`);
const dataDir = await mkdtemp(path.join(os.tmpdir(), "mqtt-aggregator-bench-soak-"));
const warnings: string[] = [];
const log = createLogger("warning", { write: (text: string) => warnings.push(text) });
const addon = await startAddon({
  settings: parsed.settings,
  broker: { host: "127.0.0.1", port: given.port, tls: false },
  dataDir,
  log,
  addon: { version: "bench", supportUrl: "https://example.invalid/bench" },
});
const started = performance.now();
const cpuAtStart = process.cpuUsage();
const gc = (globalThis as { gc?: () => void }).gc;
let sampling = 0;
const sampler = setInterval(() => {
  const before = process.cpuUsage();
  gc?.();
  const spent = process.cpuUsage(before);
  sampling += spent.user + spent.system;
  const figures = memoryFigures();
  const cpu = process.cpuUsage(cpuAtStart);
  const sample: SoakSample = {
    kind: "sample",
    seconds: (performance.now() - started) / 1000,
    tracked: addon.store.trackedTopicCount,
    heapUsedBytes: figures.heapUsedBytes,
    rssBytes: figures.rssBytes,
    cpuMicros: cpu.user + cpu.system - sampling,
  };
  void tellParent(sample);
}, given.sampleEverySeconds * 1000);

process.on("message", (message: { kind: string }) => {
  if (message.kind !== "exit") return;
  clearInterval(sampler);
  void addon
    .stop()
    .catch(() => undefined)
    .then(() => rm(dataDir, { recursive: true, force: true }))
    .then(() => tellParent({ kind: "warnings", lines: warnings.slice(0, 20) }))
    .finally(() => process.exit(0));
});
await tellParent({ kind: "started" });
