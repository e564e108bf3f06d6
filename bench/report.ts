import type { MemoryReport } from "./children/memory.js";
import type { BurstResult } from "./children/protocol.js";
import type { ReadCostReport, ReadTiming } from "./children/read-cost.js";
import type { ProfileSummary } from "./profile.js";
import type { SoakReport } from "./soak.js";
import type { StartupReport } from "./startup.js";
import type { FeatureCounts, RuleSet } from "./workload.js";

/** (a) the limit, (b) the add-on with the plain rules, (c) with every feature, publishing. */
export type SubscriberKind = "bare" | "plain" | "featured";
export const SUBSCRIBER_KINDS: readonly SubscriberKind[] = ["bare", "plain", "featured"];
export type AddonKind = Exclude<SubscriberKind, "bare">;
export type ProfiledChild = SubscriberKind | "read";

export interface RoundReport {
  readonly round: number;
  readonly order: readonly SubscriberKind[];
  readonly publisherMessagesPerSecond: number;
  readonly results: Readonly<Record<SubscriberKind, BurstResult>>;
}

export interface SubscriberSummary {
  readonly messagesPerSecond: number;
  readonly cpuMicrosPerMessage: number;
  readonly peakRssBytes: number;
  readonly idleRssBytes: number;
  /** Messages it published itself per second of the burst (the add-on's entities under `update: change`). */
  readonly publishedPerSecond: number;
  readonly publishedPerBurst: number;
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

export function roundFigures(result: BurstResult): PathRatios & { publishedPerSecond: number } {
  return {
    messagesPerSecond: result.elapsedMs === 0 ? 0 : (result.received / result.elapsedMs) * 1000,
    cpuMicrosPerMessage: result.cpuMicros / Math.max(1, result.received),
    peakRssBytes: result.end.peakRssBytes,
    idleRssBytes: result.idle.rssBytes,
    publishedPerSecond: result.elapsedMs === 0 ? 0 : (result.published / result.elapsedMs) * 1000,
  };
}

/** (b)/(a) or (c)/(a): the median over rounds of each round's own ratio (both measured on the same burst). */
export function medianRatios(rounds: readonly RoundReport[], kind: AddonKind): PathRatios {
  const ratio = (pick: (figures: PathRatios) => number) =>
    medianOf(
      rounds.map((round) => pick(roundFigures(round.results[kind])) / pick(roundFigures(round.results.bare))),
    );
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

export interface RuleSetDescription {
  readonly rules: number;
  readonly subscriptions: number;
  readonly onChange: number;
}

export interface BenchReport {
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    readonly platform: string;
    /** /proc/loadavg when the bench started, and when it ended. */
    readonly loadAverageAtStart: readonly number[];
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
    readonly plain: RuleSetDescription;
    readonly featured: RuleSetDescription;
    /** How many featured rules have each feature, and the mix asked for. */
    readonly features: FeatureCounts;
    readonly mix: Readonly<Record<string, number>>;
    /** Subscriptions every subscriber takes: the union of both rule sets'. */
    readonly subscriptions: number;
    readonly deliveredPerSubscriber: number;
    readonly jsonShare: number;
    readonly availabilityShare: number;
  };
  readonly mode: "backlog" | "live";
  readonly startup?: StartupReport;
  readonly rounds: readonly RoundReport[];
  readonly messagePath?: {
    readonly bare: SubscriberSummary;
    readonly plain: SubscriberSummary;
    readonly featured: SubscriberSummary;
    readonly ratios: { readonly plain: PathRatios; readonly featured: PathRatios };
  };
  readonly readCost: readonly ReadCostReport[];
  readonly memory: readonly MemoryReport[];
  readonly profiles?: Partial<Record<ProfiledChild, ProfileSummary>>;
  readonly totalSeconds: number;
  readonly targets: readonly Target[];
}

const MB = 1024 * 1024;
export const READ_TARGET_MS = 50;
export const PAUSE_TARGET_MS = 50;
export const MEMORY_TARGET_SOURCES = 100_000;
export const MEMORY_TARGET_BYTES = 120 * MB;
export const HEAP_PER_SOURCE_TARGET = 2;
export const CPU_TARGET = 1.3;

export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** One read's row of the read-time table. */
function readRow(label: string, timing: ReadTiming, target: string): string[] {
  return [
    label,
    fixed(timing.totalMs, 1),
    fixed(timing.storeReadMs, 1),
    fixed(timing.publishMs, 1),
    int(timing.messages),
    `${fixed(timing.longestReadSliceMs, 1)} / ${fixed(timing.longestPublishSliceMs, 1)}`,
    fixed(timing.eventLoopDelayMaxMs, 1),
    target,
  ];
}

/** The steady-state read everyone pays every interval: the median of the reads after the first. */
export function steadyRead(readCost: ReadCostReport): ReadTiming {
  return medianRead(readCost.steady);
}

/** The median of some reads by total time (the read itself when the count is odd). */
export function medianRead(reads: readonly ReadTiming[]): ReadTiming {
  const totals = reads.map((timing) => timing.totalMs);
  const middle = medianOf(totals);
  const found = reads.find((timing) => timing.totalMs === middle);
  if (found !== undefined) return found;
  const median = (pick: (timing: ReadTiming) => number) => medianOf(reads.map(pick));
  return {
    totalMs: middle,
    storeReadMs: median((timing) => timing.storeReadMs),
    publishMs: median((timing) => timing.publishMs),
    longestReadSliceMs: median((timing) => timing.longestReadSliceMs),
    longestPublishSliceMs: median((timing) => timing.longestPublishSliceMs),
    eventLoopDelayMaxMs: median((timing) => timing.eventLoopDelayMaxMs),
    readSlices: median((timing) => timing.readSlices),
    messages: reads[0]?.messages ?? 0,
    bytes: reads[0]?.bytes ?? 0,
  };
}

/** The longest the event loop waited during any of a rule set's reads and their publishing. */
export function longestPause(readCost: ReadCostReport): number {
  return Math.max(
    ...[readCost.first, ...readCost.steady, ...readCost.tenthNew].map((timing) => timing.eventLoopDelayMaxMs),
  );
}

export function heapPerSource(memory: MemoryReport): number {
  return (memory.afterRead.heapUsedBytes - memory.empty.heapUsedBytes) / Math.max(1, memory.tracked);
}

const SET_LABEL: Record<RuleSet, string> = { plain: "plain rules", featured: "every feature" };

export function evaluateTargets(report: BenchReport): Target[] {
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
  const targets: Target[] = [];
  const path = report.messagePath;
  if (path !== undefined) {
    targets.push(
      target(
        "CPU per message, (b) plain rules / (a)",
        path.ratios.plain.cpuMicrosPerMessage,
        "<=",
        CPU_TARGET,
        "×",
      ),
      target(
        "CPU per message, (c) every feature, half on change / (a)",
        path.ratios.featured.cpuMicrosPerMessage,
        "<=",
        CPU_TARGET,
        "×",
      ),
      target("throughput, (b)/(a)", path.ratios.plain.messagesPerSecond, ">=", 0.9, "×"),
      target("peak RSS, (b)/(a)", path.ratios.plain.peakRssBytes, "<=", 1.2, "×"),
    );
  }
  for (const read of report.readCost) {
    targets.push(
      target(
        `read time, ${read.rules.toLocaleString("en")} rules (${SET_LABEL[read.set]}) over ${read.readings.toLocaleString("en")} sources (steady read)`,
        steadyRead(read).totalMs,
        "<",
        READ_TARGET_MS,
        "ms",
      ),
      target(
        `longest event-loop delay during the reads and their publishing (${SET_LABEL[read.set]})`,
        longestPause(read),
        "<",
        PAUSE_TARGET_MS,
        "ms",
      ),
    );
  }
  const bareAt = (tracked: number) =>
    report.memory.find(
      (memory) => memory.kind === "bare" && Math.abs(memory.tracked - tracked) < tracked * 0.01,
    );
  for (const memory of report.memory) {
    if (memory.kind !== "addon" || memory.tracked < MEMORY_TARGET_SOURCES * 0.99 || memory.set === undefined)
      continue;
    targets.push(
      target(
        `RSS holding ${memory.tracked.toLocaleString("en")} tracked sources after ingest and a read (${SET_LABEL[memory.set]})`,
        memory.afterRead.rssBytes / MB,
        "<",
        MEMORY_TARGET_BYTES / MB,
        "MB",
      ),
    );
    const bare = bareAt(memory.tracked);
    if (bare !== undefined)
      targets.push(
        target(
          `heap per source, add-on (${SET_LABEL[memory.set]}) / bare Map`,
          heapPerSource(memory) / heapPerSource(bare),
          "<=",
          HEAP_PER_SOURCE_TARGET,
          "×",
        ),
      );
  }
  if (report.rounds.length > 0) {
    const lost = report.rounds.reduce(
      (sum, round) =>
        sum +
        Object.values(round.results).reduce(
          (lostHere, result) => lostHere + result.expected - result.received,
          0,
        ),
      0,
    );
    targets.push(target("messages lost, all rounds, all subscribers", lost, "<=", 0, ""));
  }
  return targets;
}

/* -------------------------------------------------------------- rendering */

const int = (value: number) => Math.round(value).toLocaleString("en");
const mb = (bytes: number) => (bytes / MB).toFixed(1);
const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");
const spread = (values: readonly number[], format: (value: number) => string) =>
  values.length < 2 ? "" : `${format(Math.min(...values))} to ${format(Math.max(...values))}`;

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
    "the subscribers are subscribed before anything is published and take a live warm-up; then all\n" +
    "            are paused (SIGSTOP) while the burst is published, so the broker holds it for them; then each\n" +
    "            drains it alone (SIGCONT) while the others and the publisher are idle. On 2 cores this gives each\n" +
    "            subscriber a core of its own with the broker on the other, so messages/s is the subscriber's\n" +
    "            own capacity, not the publisher's pace, and all see the very same burst. Order rotates.",
  live:
    "one subscriber at a time takes the burst while it is being published (publisher, broker and\n" +
    "            subscriber share the cores, as in a busy home); messages/s then mostly shows the publisher's pace.",
};

function describeFeatures(report: BenchReport): string {
  return Object.entries(report.workload.features)
    .map(([name, count]) => `${name} ${count}`)
    .join(", ");
}

export function renderReport(report: BenchReport): string {
  const targets = new Map(report.targets.map((target) => [target.name, target]));
  const targetCell = (name: string) => {
    const found = targets.get(name);
    return found === undefined ? "" : `${found.comparison} ${found.limit} ${tick(found.met)}`;
  };
  const lines: string[] = [];
  const { workload } = report;
  const load = (values: readonly number[]) => values.map((value) => value.toFixed(2)).join(" ");
  lines.push("MQTT Aggregator bench: the add-on's costs against a bare MQTT.js subscriber");
  lines.push("");
  lines.push(
    `machine     ${report.machine.cpus} × ${report.machine.cpuModel}, Node ${report.machine.node}, ${report.machine.platform}; load average ${load(report.machine.loadAverageAtStart)} at the start, ${load(report.machine.loadAverage)} at the end`,
  );
  lines.push(`broker      ${report.broker.description}`);
  lines.push(
    `home        ${int(workload.topics)} topics over ${int(workload.rooms)} rooms: ESPHome and Shelly plain numbers, Tasmota (one in eight in °F) and Zigbee2MQTT JSON; half the readings are JSON; ${fixed(workload.availabilityShare * 100, 1)}% of the messages are devices' availability (LWT, status, availability)`,
  );
  lines.push(
    `rules       (b) plain: ${int(workload.plain.rules)} as 0.1.0 offered them (wildcard, named wildcard, '#', literal, value_path), availability off, all at their interval`,
  );
  lines.push(
    `            (c) featured: the same ${int(workload.featured.rules)} with the features of 0.2.0 mixed in: ${describeFeatures(report)} (${int(workload.featured.onChange)} on change)`,
  );
  lines.push(
    `            every subscriber takes the union of both sets' subscriptions: ${int(workload.subscriptions)} filters`,
  );
  if (report.rounds.length > 0) {
    lines.push(
      `burst       ${int(workload.messages)} messages at QoS 0 (${int(workload.deliveredPerSubscriber)} delivered to each subscriber) after a ${int(workload.warmup)}-message warm-up; ${report.rounds.length} round(s), fresh processes each round`,
    );
    lines.push(`method      ${report.mode}: ${METHOD[report.mode]}`);
    lines.push("            (a) MQTT.js client, on 'message' -> map.set(topic, payload.toString())");
    lines.push(
      "            (b) the add-on's BrokerConnection -> ingestMessage(store, topic, payload, now) -> ReadingsStore, plain rules",
    );
    lines.push(
      "            (c) the same with the featured rules, and the add-on's UpdateScheduler poked after each message: every 100 ms",
    );
    lines.push(
      "                it recomputes the entities on change whose inputs changed (Evaluation, formulas included) and EntityPublisher",
    );
    lines.push(
      "                publishes what changed to the broker (QoS 1, retained), as startAddon wires them",
    );
    lines.push(
      "            CPU = process.cpuUsage() (user + system, all threads) from the warm-up's end to the burst's last message;",
    );
    lines.push("            peak RSS = VmHWM of the child process; MB = 2^20 bytes");
  }
  lines.push("");

  if (report.startup !== undefined) {
    const { startup } = report;
    const subscribed = (figures: StartupReport["bare"]) => figures.map((one) => one.subscribedMs);
    const idle = (figures: StartupReport["bare"]) => figures.map((one) => one.idleRssBytes);
    lines.push(
      `Start-up (median of ${startup.starts} starts each, one process at a time; spread in brackets)`,
    );
    lines.push(
      table(
        [
          ["", "(a) bare MQTT.js", "the add-on's program", "ratio"],
          [
            "process start to subscribed (ms)",
            `${int(medianOf(subscribed(startup.bare)))} (${spread(subscribed(startup.bare), int)})`,
            `${int(medianOf(subscribed(startup.addon)))} (${spread(subscribed(startup.addon), int)})`,
            fixed(medianOf(subscribed(startup.addon)) / medianOf(subscribed(startup.bare))),
          ],
          [
            `RSS idle, ${startup.settleMs / 1000} s after subscribing (MB)`,
            `${mb(medianOf(idle(startup.bare)))} (${spread(idle(startup.bare), mb)})`,
            `${mb(medianOf(idle(startup.addon)))} (${spread(idle(startup.addon), mb)})`,
            fixed(medianOf(idle(startup.addon)) / medianOf(idle(startup.bare))),
          ],
        ],
        new Set([1, 2, 3]),
      ),
    );
    lines.push(
      "  the add-on: node src/main.js with the featured rules in an options file (loads MQTT.js, zod and pino, checks",
    );
    lines.push(
      "  the options, subscribes; then listens for retained discovery configs and announces its entities); the bare",
    );
    lines.push("  subscriber: the (a) child, from fork to its SUBACK. Both timed from the parent's spawn.");
    lines.push("");
  }

  const path = report.messagePath;
  if (path !== undefined) {
    const rounds = report.rounds;
    const { bare, plain, featured, ratios } = path;
    /** A figure of the three subscribers, with (b)/(a) and (c)/(a) beside them. */
    const ratioRow = (
      label: string,
      figure: keyof PathRatios,
      format: (value: number) => string,
      target: string,
    ): string[] => [
      label,
      format(bare[figure]),
      format(plain[figure]),
      fixed(ratios.plain[figure]),
      format(featured[figure]),
      fixed(ratios.featured[figure]),
      target,
    ];
    lines.push(
      `Message path (median of ${rounds.length} round${rounds.length === 1 ? "" : "s"}; ratios are the medians of the rounds' own ratios)`,
    );
    lines.push(
      table(
        [
          ["", "(a) bare MQTT.js", "(b) plain rules", "(b)/(a)", "(c) every feature", "(c)/(a)", "target"],
          ratioRow(
            "messages per second",
            "messagesPerSecond",
            int,
            `(b) ${targetCell("throughput, (b)/(a)")}`,
          ),
          ratioRow(
            "CPU per message (µs)",
            "cpuMicrosPerMessage",
            (value) => fixed(value),
            `<= ${CPU_TARGET} ${tick(targets.get("CPU per message, (b) plain rules / (a)")?.met === true)}, ${tick(targets.get("CPU per message, (c) every feature, half on change / (a)")?.met === true)}`,
          ),
          ratioRow("peak RSS (MB)", "peakRssBytes", mb, `(b) ${targetCell("peak RSS, (b)/(a)")}`),
          ratioRow("RSS idle, subscribed (MB)", "idleRssBytes", mb, ""),
          ["publishes per second it caused", "", "", "", fixed(featured.publishedPerSecond, 0), "", ""],
          [
            "received / expected (worst round)",
            `${int(bare.received)} / ${int(bare.expected)}`,
            `${int(plain.received)} / ${int(plain.expected)}`,
            "",
            `${int(featured.received)} / ${int(featured.expected)}`,
            "",
            "",
          ],
          [
            "topics held",
            int(bare.distinctTopics),
            int(plain.distinctTopics),
            "",
            int(featured.distinctTopics),
            "",
            "",
          ],
        ],
        new Set([1, 2, 3, 4, 5]),
      ),
    );
    const perRound = (kind: AddonKind, pick: (figures: PathRatios) => number) =>
      rounds
        .map((round) =>
          fixed(pick(roundFigures(round.results[kind])) / pick(roundFigures(round.results.bare))),
        )
        .join(" ");
    lines.push(
      `  per round CPU/msg: (b)/(a) ${perRound("plain", (figures) => figures.cpuMicrosPerMessage)}; (c)/(a) ${perRound("featured", (figures) => figures.cpuMicrosPerMessage)}`,
    );
    lines.push(
      `  per round msg/s: (b)/(a) ${perRound("plain", (figures) => figures.messagesPerSecond)}; (c)/(a) ${perRound("featured", (figures) => figures.messagesPerSecond)}`,
    );
    lines.push(
      `  (c) published ${int(featured.publishedPerBurst)} messages per burst (median): states, attributes and availability of entities on change, coalesced over 100 ms, numeric ones at most every min_interval (10 s)`,
    );
    lines.push(
      `  publisher (one MQTT.js client, QoS 0): ${rounds.map((round) => int(round.publisherMessagesPerSecond)).join(", ")} msg/s`,
    );
    if (report.broker.droppedWarnings.length > 0)
      lines.push(`  BROKER LOG SAYS IT DROPPED MESSAGES: ${report.broker.droppedWarnings.join(" | ")}`);
    lines.push("");
  }

  for (const read of report.readCost) {
    const steady = steadyRead(read);
    const tenthNew = medianRead(read.tenthNew);
    const readTarget = report.targets.find(
      (target) => target.name.startsWith("read time") && target.name.includes(SET_LABEL[read.set]),
    );
    const pauseTarget = report.targets.find(
      (target) => target.name.startsWith("longest event-loop") && target.name.includes(SET_LABEL[read.set]),
    );
    lines.push(
      `Read time, ${SET_LABEL[read.set]}: ${int(read.rules)} rules over ${int(read.readings)} sources (${int(read.entities)} entities, ${int(read.inputs)} entity inputs), fresh process`,
    );
    lines.push(
      "  the add-on's read: Evaluation.beginRead() stepped a slice of sources at a time (readInSlices), then",
    );
    lines.push(
      "  EntityPublisher.publishDerived() a slice of entities at a time, a turn of the event loop between slices; its publish function encodes each",
    );
    lines.push(
      "  message as an MQTT PUBLISH packet in memory (no broker round trip); every payload is new, so every JSON payload",
    );
    lines.push(
      "  is parsed; the sources are a reading per sensor and the availability of one device in eight (one in 160 offline)",
    );
    lines.push(
      table(
        [
          [
            "",
            "total (ms)",
            "read (ms)",
            "publish (ms)",
            "messages",
            "longest slice (ms)",
            "event-loop delay (ms)",
            "target",
          ],
          readRow("first read (with discovery configs)", read.first, ""),
          readRow(
            `steady read (median of ${read.steady.length})`,
            steady,
            readTarget === undefined ? "" : `< ${READ_TARGET_MS} ${tick(readTarget.met)}`,
          ),
          readRow(`a tenth of the payloads new (median of ${read.tenthNew.length})`, tenthNew, "reported"),
        ],
        new Set([1, 2, 3, 4, 5, 6]),
      ),
    );
    lines.push(
      `  steady reads (ms): ${read.steady.map((timing) => fixed(timing.totalMs, 1)).join(", ")}; ${int(steady.readSlices)} read slices each`,
    );
    lines.push(
      `  longest event-loop delay over all reads: ${fixed(longestPause(read), 1)} ms${pauseTarget === undefined ? "" : ` (< ${PAUSE_TARGET_MS} ${tick(pauseTarget.met)})`}; longest slice = read / publish`,
    );
    lines.push(
      `  per entity input: ${fixed((steady.storeReadMs * 1000) / Math.max(1, read.inputs), 2)} µs in the read; floor: JSON.parse of the ${int(read.jsonPayloads)} JSON payloads alone takes ${fixed(read.jsonParseFloorMs, 1)} ms`,
    );
    lines.push("");
  }

  if (report.memory.length > 0) {
    lines.push(
      "Memory holding tracked sources, each count in a fresh process (one message per topic, the bench's stream)",
    );
    lines.push(
      "  add-on: its modules loaded (src/app/addon.ts), a ReadingsStore fed through ingestMessage, then one read;",
    );
    lines.push(
      "  (a) bare: MQTT.js loaded and a Map<topic, payload>. RSS after a forced GC; peak = the process's VmHWM, garbage included",
    );
    const bareOf = (tracked: number) =>
      report.memory.find(
        (memory) => memory.kind === "bare" && Math.abs(memory.tracked - tracked) < tracked * 0.01,
      );
    lines.push(
      table(
        [
          [
            "",
            "sources",
            "rules",
            "entities",
            "empty (MB)",
            "after ingest (MB)",
            "after a read (MB)",
            "peak RSS (MB)",
            "heap/source (B)",
            "× bare",
            "target",
          ],
          ...report.memory.map((memory) => {
            const bare = bareOf(memory.tracked);
            const rssTarget =
              memory.set === undefined
                ? undefined
                : targets.get(
                    `RSS holding ${memory.tracked.toLocaleString("en")} tracked sources after ingest and a read (${SET_LABEL[memory.set]})`,
                  );
            return [
              memory.kind === "bare" ? "(a) bare Map" : `add-on, ${SET_LABEL[memory.set ?? "plain"]}`,
              int(memory.tracked),
              memory.kind === "addon" ? int(memory.rules) : "",
              memory.kind === "addon" ? int(memory.entities) : "",
              mb(memory.empty.rssBytes),
              mb(memory.afterIngest.rssBytes),
              memory.kind === "addon" ? mb(memory.afterRead.rssBytes) : "",
              mb(memory.peakRssBytes),
              int(heapPerSource(memory)),
              memory.kind === "addon" && bare !== undefined
                ? fixed(heapPerSource(memory) / heapPerSource(bare))
                : "",
              rssTarget === undefined ? "" : `< ${MEMORY_TARGET_BYTES / MB} MB ${tick(rssTarget.met)}`,
            ];
          }),
        ],
        new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]),
      ),
    );
    lines.push(
      `  heap per source = (heap after the read - heap of the empty store) / sources; target <= ${HEAP_PER_SOURCE_TARGET}× the bare Map's`,
    );
    lines.push("");
  }

  if (report.profiles !== undefined) {
    const titles: Record<ProfiledChild, string> = {
      bare: "(a) the bare subscriber during the burst",
      plain: "(b) the add-on, plain rules, during the burst",
      featured: "(c) the add-on, every feature, during the burst",
      read: "the read-cost child (every feature) during its steady reads",
    };
    for (const kind of ["bare", "plain", "featured", "read"] as const) {
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
  lines.push(...renderTargets(report.targets));
  lines.push("");
  lines.push(`${fixed(report.totalSeconds, 0)} s in all`);
  lines.push("");
  return lines.join("\n");
}

function renderTargets(targets: readonly Target[]): string[] {
  return targets.map((target) => {
    const unit = (value: number) =>
      target.unit === "×"
        ? `${fixed(value)}×`
        : `${fixed(value, target.unit === "" ? 0 : 1)}${target.unit === "" ? "" : ` ${target.unit}`}`;
    return `  ${target.met ? "met   " : "MISSED"}  ${target.name}: ${unit(target.measured)} (${target.comparison} ${unit(target.limit)})`;
  });
}

/* ------------------------------------------------------------------ soak */

/** The soak's target: the live heap does not grow once the topics are stable (within 2% or 1 MB, GC noise). */
export function soakTargets(report: SoakReport): Target[] {
  const trend = report.trend;
  if (trend === undefined) return [];
  const allowed = Math.max(MB, trend.heapFirstThirdBytes * 0.02);
  return [
    {
      name: "live heap growth once the set of topics is stable (last third against first third, medians)",
      measured: trend.heapGrowthBytes / MB,
      limit: allowed / MB,
      comparison: "<=",
      unit: "MB",
      met: trend.heapGrowthBytes <= allowed,
    },
  ];
}

export function renderSoak(
  report: SoakReport,
  targets: readonly Target[],
  loadAverage: readonly number[],
): string {
  const { settings, load, trend } = report;
  const lines: string[] = [];
  lines.push("MQTT Aggregator soak: the add-on's own wiring (startAddon) under a steady mixed load");
  lines.push("");
  lines.push(
    `load        ${int(settings.rate)} msg/s over ${int(load.active)} sensors at a time out of ${int(load.universe)} (the window moves ${int(load.shiftPerSecond)} sensors a second, so sensors go quiet and come back), ${int(settings.rooms)} rooms; readings, devices' availability and the Zigbee2MQTT bridge as in the bench's stream`,
  );
  lines.push(
    `rules       ${int(settings.rules)} featured rules (half on change, publishing to the broker), read_interval ${report.readIntervalSeconds} s, max_age ${report.maxAgeSeconds} s`,
  );
  lines.push(
    `samples     every ${settings.sampleEverySeconds} s: live heap (heapUsed right after a forced GC) and RSS; every sensor seen after ${report.stableAfterSeconds} s; load average at the end ${loadAverage.map((value) => value.toFixed(2)).join(" ")}`,
  );
  lines.push(`sent        ${int(report.sent)} messages in ${settings.seconds} s`);
  lines.push("");
  lines.push(
    table(
      [
        ["t (s)", "topics tracked", "heap (MB)", "RSS (MB)", ""],
        ...report.samples.map((sample) => [
          int(sample.seconds),
          int(sample.tracked),
          mb(sample.heapUsedBytes),
          mb(sample.rssBytes),
          sample.seconds >= report.stableAfterSeconds ? "stable" : "",
        ]),
      ],
      new Set([0, 1, 2, 3]),
    ),
  );
  lines.push("");
  if (trend === undefined) {
    lines.push(
      `Trend: too few samples after ${report.stableAfterSeconds} s (every sensor seen) for a trend; run longer (--soak ${report.stableAfterSeconds + 12 * settings.sampleEverySeconds} or more)`,
    );
  } else {
    lines.push(
      `Trend over the ${trend.samples} stable samples: heap ${fixed(trend.heapBytesPerMinute / 1024, 1)} KB/min (slope), ${fixed(trend.heapGrowthBytes / 1024, 0)} KB last third against first; RSS ${fixed(trend.rssBytesPerMinute / 1024, 1)} KB/min, ${fixed(trend.rssGrowthBytes / 1024, 0)} KB; CPU ${fixed(trend.cpuMicrosPerMessage, 1)} µs per message sent (all of the add-on's work: messages, reads, flushes and publishing on change, saves; the samples' forced GCs left out)`,
    );
  }
  if (report.warnings.length > 0) lines.push(`warnings logged: ${report.warnings.join(" | ")}`);
  lines.push("");
  lines.push("Targets");
  lines.push(...renderTargets(targets));
  lines.push("");
  return lines.join("\n");
}

export { MB };
