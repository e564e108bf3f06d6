import type { ChildBuild } from "./build.js";
import { BenchChild } from "./child-process.js";
import type { SoakAddonOrders, SoakSample } from "./children/soak-addon.js";
import type { SoakLoad, SoakPublisherOrders, SoakPublisherReport } from "./children/soak-publisher.js";
import { addonNodeFlags } from "./runtime-flags.js";
import { optionsOf, type HomeShape } from "./workload.js";

export interface SoakSettings {
  readonly seconds: number;
  readonly rate: number;
  readonly topics: number;
  readonly rooms: number;
  readonly rules: number;
  readonly sampleEverySeconds: number;
  readonly mix: Readonly<Record<string, number>>;
}

export interface SoakReport {
  readonly settings: SoakSettings;
  readonly load: SoakLoad;
  /** From then on every sensor has been seen: the set of topics is stable. */
  readonly stableAfterSeconds: number;
  readonly maxAgeSeconds: number;
  readonly readIntervalSeconds: number;
  readonly sent: number;
  readonly samples: readonly SoakSample[];
  readonly trend: SoakTrend | undefined;
  readonly warnings: readonly string[];
}

export interface SoakTrend {
  readonly samples: number;
  /** Least-squares slope over the stable part, per minute. */
  readonly heapBytesPerMinute: number;
  readonly rssBytesPerMinute: number;
  /** Median of the stable part's last third against its first third. */
  readonly heapGrowthBytes: number;
  readonly rssGrowthBytes: number;
  readonly heapFirstThirdBytes: number;
  /** The add-on's CPU over the stable part, per message sent. */
  readonly cpuMicrosPerMessage: number;
}

/** A payload stays a source's reading this long; a sensor out of the window for longer goes stale and its payload is released. */
const SOAK_MAX_AGE_S = 20;
const SOAK_READ_INTERVAL_S = 10;

export function soakLoadOf(settings: SoakSettings): SoakLoad {
  return {
    active: settings.topics,
    // A quarter more sensors than publish at a time: each is away for a while, then back.
    universe: Math.round(settings.topics * 1.25),
    shiftPerSecond: Math.max(1, Math.round(settings.topics / 100)),
    rate: settings.rate,
    rooms: settings.rooms,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function slopePerMinute(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let numerator = 0;
  let denominator = 0;
  for (const [x, y] of points) {
    numerator += (x - meanX) * (y - meanY);
    denominator += (x - meanX) ** 2;
  }
  return denominator === 0 ? 0 : (numerator / denominator) * 60;
}

export function trendOf(
  samples: readonly SoakSample[],
  stableAfterSeconds: number,
  rate: number,
): SoakTrend | undefined {
  const stable = samples.filter((sample) => sample.seconds >= stableAfterSeconds);
  if (stable.length < 6) return undefined;
  const third = Math.floor(stable.length / 3);
  const first = stable.slice(0, third);
  const last = stable.slice(-third);
  const heapFirst = median(first.map((sample) => sample.heapUsedBytes));
  const firstSample = stable[0];
  const lastSample = stable.at(-1);
  const seconds = (lastSample?.seconds ?? 0) - (firstSample?.seconds ?? 0);
  return {
    samples: stable.length,
    heapBytesPerMinute: slopePerMinute(stable.map((sample) => [sample.seconds, sample.heapUsedBytes])),
    rssBytesPerMinute: slopePerMinute(stable.map((sample) => [sample.seconds, sample.rssBytes])),
    heapGrowthBytes: median(last.map((sample) => sample.heapUsedBytes)) - heapFirst,
    rssGrowthBytes:
      median(last.map((sample) => sample.rssBytes)) - median(first.map((sample) => sample.rssBytes)),
    heapFirstThirdBytes: heapFirst,
    cpuMicrosPerMessage:
      seconds <= 0 ? 0 : ((lastSample?.cpuMicros ?? 0) - (firstSample?.cpuMicros ?? 0)) / (seconds * rate),
  };
}

/**
 * A long run of the add-on's own wiring (startAddon) under a steady mixed load: the bench's message
 * stream at `rate` messages/s over `topics` sensors at a time, out of a quarter more that take turns.
 */
export async function runSoak(
  build: ChildBuild,
  port: number,
  settings: SoakSettings,
  progress: (line: string) => void,
): Promise<SoakReport> {
  const load = soakLoadOf(settings);
  const shape: HomeShape = { topics: load.universe, rules: settings.rules, rooms: settings.rooms };
  const options = optionsOf(shape, "featured", settings.mix, {
    first_read_delay: 2,
    read_interval: SOAK_READ_INTERVAL_S,
    max_age: SOAK_MAX_AGE_S,
  });
  // The window has moved past every sensor once: from then on no topic is new.
  const stableAfterSeconds = Math.ceil((load.universe - load.active) / load.shiftPerSecond) + SOAK_MAX_AGE_S;
  const addon = new BenchChild<SoakSample | { kind: "started" } | { kind: "warnings"; lines: string[] }>(
    "soak add-on",
    build.script("children/soak-addon"),
    [...addonNodeFlags(), "--expose-gc"],
  );
  const publisher = new BenchChild<SoakPublisherReport>(
    "soak publisher",
    build.script("children/soak-publisher"),
  );
  const samples: SoakSample[] = [];
  try {
    addon.send({ port, options, sampleEverySeconds: settings.sampleEverySeconds } satisfies SoakAddonOrders);
    await addon.next((message): message is { kind: "started" } => message.kind === "started", 20_000);
    publisher.send({ port, load } satisfies SoakPublisherOrders);
    const deadline = performance.now() + settings.seconds * 1000;
    while (performance.now() < deadline) {
      const left = deadline - performance.now();
      const sample = await addon
        .next((message): message is SoakSample => message.kind === "sample", Math.max(1, left) + 10_000)
        .catch(() => undefined);
      if (sample === undefined) break;
      samples.push(sample);
      progress(
        `soak ${Math.round(sample.seconds)} s: ${sample.tracked.toLocaleString("en")} topics tracked, heap ${(sample.heapUsedBytes / 2 ** 20).toFixed(1)} MB, RSS ${(sample.rssBytes / 2 ** 20).toFixed(1)} MB`,
      );
    }
    publisher.send({ kind: "stop" });
    const sent = await publisher.next((_message): _message is SoakPublisherReport => true, 10_000);
    addon.send({ kind: "exit" });
    const said = await addon
      .next(
        (message): message is { kind: "warnings"; lines: string[] } => message.kind === "warnings",
        10_000,
      )
      .catch(() => undefined);
    const warnings = said?.lines ?? [];
    return {
      settings,
      load,
      stableAfterSeconds,
      maxAgeSeconds: SOAK_MAX_AGE_S,
      readIntervalSeconds: SOAK_READ_INTERVAL_S,
      sent: sent.sent,
      samples,
      trend: trendOf(samples, stableAfterSeconds, settings.rate),
      warnings,
    };
  } finally {
    await publisher.stop({ kind: "stop" });
    await addon.stop({ kind: "exit" });
  }
}
