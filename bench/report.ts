import type { MemoryReport } from "./children/memory.js";
import type { BurstResult } from "./children/protocol.js";
import type { ReadCostReport, ReadTiming } from "./children/read-cost.js";
import type { ProfileSummary } from "./profile.js";

export type SubscriberKind = "bare" | "addon";
export type ProfiledChild = SubscriberKind | "read";

export interface RoundReport {
  readonly round: number;
  readonly order: readonly SubscriberKind[];
  readonly publisherMessagesPerSecond: number;
  readonly bare: BurstResult;
  readonly addon: BurstResult;
}

export interface SubscriberSummary {
  readonly messagesPerSecond: number;
  readonly cpuMicrosPerMessage: number;
  readonly peakRssBytes: number;
  readonly idleRssBytes: number;
  /** The fewest messages received in any round, against the burst's size. */
  readonly received: number;
  readonly expected: number;
  readonly distinctTopics: number;
}

export interface PathRatios {
  readonly messagesPerSecond: number;
  readonly cpuMicrosPerMessage: number;
  readonly peakRssBytes: number;
  readonly idleRssBytes: number;
}

export function roundFigures(result: BurstResult): PathRatios {
  return {
    messagesPerSecond: result.elapsedMs === 0 ? 0 : (result.received / result.elapsedMs) * 1000,
    cpuMicrosPerMessage: result.cpuMicros / Math.max(1, result.received),
    peakRssBytes: result.end.peakRssBytes,
    idleRssBytes: result.idle.rssBytes,
  };
}

export function medianRatios(rounds: readonly RoundReport[]): PathRatios {
  const ratio = (pick: (figures: PathRatios) => number) =>
    medianOf(rounds.map((round) => pick(roundFigures(round.addon)) / pick(roundFigures(round.bare))));
  return {
    messagesPerSecond: ratio((figures) => figures.messagesPerSecond),
    cpuMicrosPerMessage: ratio((figures) => figures.cpuMicrosPerMessage),
    peakRssBytes: ratio((figures) => figures.peakRssBytes),
    idleRssBytes: ratio((figures) => figures.idleRssBytes),
  };
}

export interface Target {
  readonly name: string;
  readonly measured: number;
  readonly limit: number;
  readonly comparison: "<=" | ">=" | "<";
  readonly unit: string;
  readonly met: boolean;
}

export interface BenchReport {
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    readonly platform: string;
    readonly loadAverage: readonly number[];
  };
  readonly broker: {
    readonly kind: string;
    readonly description: string;
    readonly droppedWarnings: string[];
  };
  readonly workload: {
    readonly messages: number;
    readonly warmup: number;
    readonly topics: number;
    readonly rooms: number;
    readonly rules: number;
    readonly ruleKinds: Record<string, number>;
    readonly subscriptions: number;
    readonly deliveredPerSubscriber: number;
    readonly jsonShare: number;
  };
  readonly mode: "backlog" | "live";
  readonly rounds: readonly RoundReport[];
  readonly messagePath: {
    readonly bare: SubscriberSummary;
    readonly addon: SubscriberSummary;
    /** (b)/(a), the median over rounds of each round's ratio: both are measured on the same burst. */
    readonly ratios: PathRatios;
  };
  readonly readCost: ReadCostReport;
  readonly memory: readonly MemoryReport[];
  readonly profiles?: Partial<Record<ProfiledChild, ProfileSummary>>;
  readonly totalSeconds: number;
  readonly targets: readonly Target[];
}

const MB = 1024 * 1024;
export const READ_TARGET_MS = 50;
export const MEMORY_TARGET_SOURCES = 100_000;
export const MEMORY_TARGET_BYTES = 150 * MB;

export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** The steady-state read everyone pays every interval: the median of the reads after the first. */
export function steadyRead(readCost: ReadCostReport): ReadTiming {
  const totals = readCost.steady.map((timing) => timing.totalMs);
  const middle = medianOf(totals);
  return (
    readCost.steady.find((timing) => timing.totalMs === middle) ?? {
      totalMs: middle,
      storeReadMs: medianOf(readCost.steady.map((timing) => timing.storeReadMs)),
      publishMs: medianOf(readCost.steady.map((timing) => timing.publishMs)),
      messages: readCost.steady[0]?.messages ?? 0,
      bytes: readCost.steady[0]?.bytes ?? 0,
    }
  );
}

export function evaluateTargets(report: BenchReport): Target[] {
  const { ratios } = report.messagePath;
  const target = (
    name: string,
    measured: number,
    comparison: Target["comparison"],
    limit: number,
    unit: string,
  ): Target => ({
    name,
    measured,
    limit,
    comparison,
    unit,
    met: comparison === "<=" ? measured <= limit : comparison === ">=" ? measured >= limit : measured < limit,
  });
  const targets = [
    target("CPU per message, (b)/(a)", ratios.cpuMicrosPerMessage, "<=", 1.3, "×"),
    target("throughput, (b)/(a)", ratios.messagesPerSecond, ">=", 0.9, "×"),
    target("peak RSS, (b)/(a)", ratios.peakRssBytes, "<=", 1.2, "×"),
    target(
      `read time, ${report.readCost.rules.toLocaleString("en")} rules over ${report.readCost.readings.toLocaleString("en")} readings (steady read)`,
      steadyRead(report.readCost).totalMs,
      "<",
      READ_TARGET_MS,
      "ms",
    ),
  ];
  const largest = report.memory.find(
    (memory) => memory.kind === "addon" && memory.tracked >= MEMORY_TARGET_SOURCES,
  );
  if (largest !== undefined) {
    targets.push(
      target(
        `RSS holding ${largest.tracked.toLocaleString("en")} tracked sources (after ingest and a read)`,
        largest.afterRead.rssBytes / MB,
        "<",
        MEMORY_TARGET_BYTES / MB,
        "MB",
      ),
    );
  }
  const lost = report.rounds.reduce(
    (sum, round) =>
      sum + round.bare.expected - round.bare.received + round.addon.expected - round.addon.received,
    0,
  );
  targets.push(target("messages lost, all rounds, both subscribers", lost, "<=", 0, ""));
  return targets;
}

/* -------------------------------------------------------------- rendering */

const int = (value: number) => Math.round(value).toLocaleString("en");
const mb = (bytes: number) => (bytes / MB).toFixed(1);
const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");

/** Display width: the table's cells are ASCII but for "µ", "×" and the like, one column each. */
function width(text: string): number {
  return Array.from(text).length;
}

function table(rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, width(cell));
    });
  }
  return rows
    .map(
      (row) =>
        "  " +
        row
          .map((cell, index) => {
            const pad = " ".repeat((widths[index] ?? 0) - width(cell));
            return rightAligned.has(index) ? pad + cell : cell + pad;
          })
          .join("   ")
          .trimEnd(),
    )
    .join("\n");
}

const tick = (met: boolean) => (met ? "met" : "MISSED");

const METHOD: Record<BenchReport["mode"], string> = {
  backlog:
    "both subscribers are subscribed before anything is published and take a live warm-up; then both\n" +
    "            are paused (SIGSTOP) while the burst is published, so the broker holds it for them; then each\n" +
    "            drains it alone (SIGCONT) while the other and the publisher are idle. On 2 cores this gives each\n" +
    "            subscriber a core of its own with the broker on the other, so messages/s is the subscriber's\n" +
    "            own capacity, not the publisher's pace, and both see the very same burst. Order alternates.",
  live:
    "one subscriber at a time takes the burst while it is being published (publisher, broker and\n" +
    "            subscriber share the cores, as in a busy home); messages/s then mostly shows the publisher's pace.",
};

export function renderReport(report: BenchReport): string {
  const { bare, addon, ratios } = report.messagePath;
  const targets = new Map(report.targets.map((target) => [target.name, target]));
  const targetCell = (name: string) => {
    const found = targets.get(name);
    return found === undefined ? "" : `${found.comparison} ${found.limit} ${tick(found.met)}`;
  };
  const lines: string[] = [];
  const kinds = report.workload.ruleKinds;
  lines.push("MQTT Aggregator bench: the add-on's message path against a bare MQTT.js subscriber");
  lines.push("");
  lines.push(
    `machine     ${report.machine.cpus} × ${report.machine.cpuModel}, Node ${report.machine.node}, ${report.machine.platform}, load average ${report.machine.loadAverage.map((load) => load.toFixed(2)).join(" ")} (at the end)`,
  );
  lines.push(`broker      ${report.broker.description}`);
  lines.push(
    `home        ${int(report.workload.topics)} topics over ${int(report.workload.rooms)} rooms: ESPHome and Shelly plain numbers, Tasmota and Zigbee2MQTT JSON (half the messages are JSON)`,
  );
  lines.push(
    `rules       ${int(report.workload.rules)}: ${kinds["namedWildcard"] ?? 0} named-wildcard (fan out per room), ${kinds["multiLevelWildcard"] ?? 0} with '#', ${kinds["singleLevelWildcard"] ?? 0} with '+' (named or not), ${kinds["literal"] ?? 0} literal; ${kinds["withValuePath"] ?? 0} with a value_path; ${int(report.workload.subscriptions)} distinct subscriptions`,
  );
  lines.push(
    `burst       ${int(report.workload.messages)} messages at QoS 0 (${int(report.workload.deliveredPerSubscriber)} delivered to each subscriber) after a ${int(report.workload.warmup)}-message warm-up; ${report.rounds.length} round(s), fresh processes each round`,
  );
  lines.push(`method      ${report.mode}: ${METHOD[report.mode]}`);
  lines.push("            (a) MQTT.js client, on 'message' -> map.set(topic, payload.toString())");
  lines.push(
    "            (b) the add-on's BrokerConnection -> ingestMessage(store, topic, payload, Date.now()) -> ReadingsStore",
  );
  lines.push(
    "                built from parseOptions; the child loads src/app/addon.ts, so its RSS includes the add-on's code",
  );
  lines.push(
    "            CPU = process.cpuUsage() (user + system, all threads) from the warm-up's end to the burst's last message;",
  );
  lines.push("            peak RSS = VmHWM of the child process; MB = 2^20 bytes");
  lines.push("");

  const rounds = report.rounds;
  lines.push(
    `Message path (median of ${rounds.length} round${rounds.length === 1 ? "" : "s"}; (b)/(a) is the median of the rounds' own ratios)`,
  );
  lines.push(
    table(
      [
        ["", "(a) bare MQTT.js", "(b) add-on", "(b)/(a)", "target"],
        [
          "messages per second",
          int(bare.messagesPerSecond),
          int(addon.messagesPerSecond),
          fixed(ratios.messagesPerSecond),
          targetCell("throughput, (b)/(a)"),
        ],
        [
          "CPU per message (µs)",
          fixed(bare.cpuMicrosPerMessage),
          fixed(addon.cpuMicrosPerMessage),
          fixed(ratios.cpuMicrosPerMessage),
          targetCell("CPU per message, (b)/(a)"),
        ],
        [
          "peak RSS (MB)",
          mb(bare.peakRssBytes),
          mb(addon.peakRssBytes),
          fixed(ratios.peakRssBytes),
          targetCell("peak RSS, (b)/(a)"),
        ],
        [
          "RSS idle, subscribed (MB)",
          mb(bare.idleRssBytes),
          mb(addon.idleRssBytes),
          fixed(ratios.idleRssBytes),
          "",
        ],
        [
          "received / expected (worst round)",
          `${int(bare.received)} / ${int(bare.expected)}`,
          `${int(addon.received)} / ${int(addon.expected)}`,
          "",
          "",
        ],
        ["topics held", int(bare.distinctTopics), int(addon.distinctTopics), "", ""],
      ],
      new Set([1, 2, 3]),
    ),
  );
  const perRound = (pick: (figures: PathRatios) => number) =>
    rounds.map((round) => fixed(pick(roundFigures(round.addon)) / pick(roundFigures(round.bare)))).join(" ");
  lines.push(
    `  per round (b)/(a): CPU/msg ${perRound((figures) => figures.cpuMicrosPerMessage)}; msg/s ${perRound((figures) => figures.messagesPerSecond)}; peak RSS ${perRound((figures) => figures.peakRssBytes)}`,
  );
  lines.push(
    `  publisher (one MQTT.js client, QoS 0): ${rounds.map((round) => int(round.publisherMessagesPerSecond)).join(", ")} msg/s`,
  );
  if (report.broker.droppedWarnings.length > 0)
    lines.push(`  BROKER LOG SAYS IT DROPPED MESSAGES: ${report.broker.droppedWarnings.join(" | ")}`);
  lines.push("");

  const read = report.readCost;
  const steady = steadyRead(read);
  const readTarget = report.targets.find((target) => target.name.startsWith("read time"));
  lines.push(
    `Read time: ${int(read.rules)} rules over ${int(read.readings)} readings (${int(read.entities)} entities, ${int(read.inputs)} entity inputs), fresh process`,
  );
  lines.push(
    "  store.read(now) + EntityPublisher.publishDerived(); its publish function encodes each message as an MQTT",
  );
  lines.push(
    "  PUBLISH packet in memory (no broker round trip); every payload is new, so every JSON payload is parsed",
  );
  lines.push(
    table(
      [
        ["", "total (ms)", "store.read (ms)", "publishDerived (ms)", "messages", "target"],
        [
          "first read (with discovery configs)",
          fixed(read.first.totalMs, 1),
          fixed(read.first.storeReadMs, 1),
          fixed(read.first.publishMs, 1),
          int(read.first.messages),
          "",
        ],
        [
          `steady read (median of ${read.steady.length})`,
          fixed(steady.totalMs, 1),
          fixed(steady.storeReadMs, 1),
          fixed(steady.publishMs, 1),
          int(steady.messages),
          readTarget === undefined ? "" : `< ${READ_TARGET_MS} ${tick(readTarget.met)}`,
        ],
      ],
      new Set([1, 2, 3, 4]),
    ),
  );
  lines.push(`  steady reads (ms): ${read.steady.map((timing) => fixed(timing.totalMs, 1)).join(", ")}`);
  lines.push(
    `  per entity input: ${fixed((steady.storeReadMs * 1000) / Math.max(1, read.inputs), 2)} µs in store.read; floor: JSON.parse of the ${int(read.jsonPayloads)} JSON payloads alone takes ${fixed(read.jsonParseFloorMs, 1)} ms`,
  );
  lines.push("");

  lines.push("Memory holding tracked sources, each count in a fresh process (one message per topic)");
  lines.push(
    "  (b) add-on: its modules loaded (src/app/addon.ts), a ReadingsStore fed through ingestMessage, then one read;",
  );
  lines.push(
    "  (a) bare: MQTT.js loaded and a Map<topic, payload>. RSS after a forced GC; peak = the process's VmHWM, garbage included",
  );
  const memoryTarget = report.targets.find((target) => target.name.startsWith("RSS holding"));
  lines.push(
    table(
      [
        [
          "",
          "sources",
          "rules",
          "entities",
          "empty store (MB)",
          "after ingest (MB)",
          "after a read (MB)",
          "peak RSS (MB)",
          "target",
        ],
        ...report.memory.map((memory) => [
          memory.kind === "addon" ? "(b) add-on" : "(a) bare Map",
          int(memory.tracked),
          memory.kind === "addon" ? int(memory.rules) : "",
          memory.kind === "addon" ? int(memory.entities) : "",
          mb(memory.empty.rssBytes),
          mb(memory.afterIngest.rssBytes),
          memory.kind === "addon" ? mb(memory.afterRead.rssBytes) : "",
          mb(memory.peakRssBytes),
          memory.kind === "addon" && memory.tracked >= MEMORY_TARGET_SOURCES && memoryTarget !== undefined
            ? `< ${MEMORY_TARGET_BYTES / MB} ${tick(memoryTarget.met)}`
            : "",
        ]),
      ],
      new Set([1, 2, 3, 4, 5, 6, 7]),
    ),
  );
  const perSource = report.memory.map(
    (memory) =>
      `${memory.kind === "addon" ? "(b)" : "(a)"} ${int(memory.tracked)}: ${int((memory.afterRead.heapUsedBytes - memory.empty.heapUsedBytes) / Math.max(1, memory.tracked))} B`,
  );
  lines.push(`  heap per source (after the read for the add-on): ${perSource.join("; ")}`);
  lines.push("");

  if (report.profiles !== undefined) {
    const titles: Record<ProfiledChild, string> = {
      bare: "(a) the bare subscriber during the burst",
      addon: "(b) the add-on during the burst",
      read: "the read-cost child during its steady reads",
    };
    for (const kind of ["bare", "addon", "read"] as const) {
      const profile = report.profiles[kind];
      if (profile === undefined) continue;
      lines.push(
        `CPU profile of ${titles[kind]} (${fixed(profile.sampledMs, 0)} ms sampled; ${profile.file})`,
      );
      lines.push(
        table(
          [
            ["self ms", "share", "where"],
            ...profile.byArea
              .slice(0, 8)
              .map((line) => [fixed(line.selfMs, 0), `${fixed(line.share * 100, 1)}%`, line.function]),
          ],
          new Set([0, 1]),
        ),
      );
      lines.push(
        table(
          [
            ["self ms", "share", "function", "at"],
            ...profile.top.map((line) => [
              fixed(line.selfMs, 0),
              `${fixed(line.share * 100, 1)}%`,
              line.function,
              line.where,
            ]),
          ],
          new Set([0, 1]),
        ),
      );
      lines.push("");
    }
  }

  lines.push("Targets");
  for (const target of report.targets) {
    const value =
      target.unit === "×" ? fixed(target.measured) : fixed(target.measured, target.unit === "" ? 0 : 1);
    lines.push(
      `  ${target.met ? "met   " : "MISSED"}  ${target.name}: ${value}${target.unit === "×" ? "×" : ` ${target.unit}`} (${target.comparison} ${target.limit}${target.unit === "×" ? "×" : ` ${target.unit}`})`.trimEnd(),
    );
  }
  lines.push("");
  lines.push(`${fixed(report.totalSeconds, 0)} s in all`);
  lines.push("");
  return lines.join("\n");
}
