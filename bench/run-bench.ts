/**
 * `npm run bench`: the add-on's cost per message next to the limit (a bare MQTT.js subscriber),
 * with the rules of 0.1.0 and with every feature since, its start-up, read-time and memory costs,
 * on a broker it starts itself; `--soak SECONDS` instead runs it for a while. See bench/README.md.
 */
import os from "node:os";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { subscriptionsOf } from "../src/app/addon.js";
import { parseTopicFilter } from "../src/core/topic-filter.js";
import { TopicMatcher } from "../src/core/topic-matcher.js";
import { parseOptions } from "../src/options/parse-options.js";
import { startBenchBroker } from "./broker.js";
import { buildChildren, PROJECT_DIR } from "./build.js";
import { BenchChild, TimeoutError } from "./child-process.js";
import type { MemoryOrders, MemoryReport } from "./children/memory.js";
import type { BurstResult, ChildMessage, ParentMessage, SubscriberOrders } from "./children/protocol.js";
import type { PublisherOrders, PublisherReport } from "./children/publisher.js";
import type { ReadCostOrders, ReadCostReport } from "./children/read-cost.js";
import { parseCli, USAGE, type BenchSettings } from "./cli.js";
import { summariseProfile, type ProfileSummary } from "./profile.js";
import {
  evaluateTargets,
  medianOf,
  medianRatios,
  renderReport,
  renderSoak,
  roundFigures,
  soakTargets,
  SUBSCRIBER_KINDS,
  type BenchReport,
  type ProfiledChild,
  type RoundReport,
  type SubscriberKind,
  type SubscriberSummary,
} from "./report.js";
import { addonNodeFlags } from "./runtime-flags.js";
import { runSoak } from "./soak.js";
import { measureStartup } from "./startup.js";
import { featuredRulesOf, messageOf, optionsOf, type HomeShape, type RuleSet } from "./workload.js";

const cli = parseCli(process.argv.slice(2));
if (cli.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const settings = cli.settings;
// With --json on stdout, everything for people goes to stderr so stdout stays one JSON document.
const human = settings.jsonTarget === "stdout" ? process.stderr : process.stdout;
const progress = (line: string) => process.stderr.write(`  · ${line}\n`);

async function loadAverage(): Promise<number[]> {
  const text = await readFile("/proc/loadavg", "utf8").catch(() => undefined);
  return text === undefined ? os.loadavg() : text.split(" ").slice(0, 3).map(Number);
}
const loadAtStart = await loadAverage();

const shape: HomeShape = { topics: settings.topics, rules: settings.rules, rooms: settings.rooms };
const optionsBySet: Record<RuleSet, Record<string, unknown>> = {
  plain: optionsOf(shape, "plain"),
  featured: optionsOf(shape, "featured", settings.mix),
};
function rulesOf(set: RuleSet) {
  const parsed = parseOptions(optionsBySet[set]);
  if (!parsed.ok) throw new Error(`the bench's ${set} options are invalid:\n${parsed.problems.join("\n")}`);
  return parsed.settings.rules;
}
const rulesBySet = { plain: rulesOf("plain"), featured: rulesOf("featured") };
// Every subscriber takes the same subscriptions, so that all of them receive the same messages.
const subscriptions = [
  ...new Set([...subscriptionsOf(rulesBySet.plain), ...subscriptionsOf(rulesBySet.featured)]),
];

/** Which messages the subscriptions deliver: every subscriber only sees those. */
const subscriptionMatcher = new TopicMatcher<string>();
for (const subscription of subscriptions) {
  const filter = parseTopicFilter(subscription);
  if (filter.ok) subscriptionMatcher.add(filter.value, subscription);
}
const deliveredByTopic = new Map<string, boolean>();
function deliveredCount(from: number, count: number): number {
  let total = 0;
  for (let k = from; k < from + count; k += 1) {
    const { topic } = messageOf(k, shape);
    let delivered = deliveredByTopic.get(topic);
    if (delivered === undefined) {
      delivered = subscriptionMatcher.match(topic).length > 0;
      deliveredByTopic.set(topic, delivered);
    }
    if (delivered) total += 1;
  }
  return total;
}
function availabilityShare(count: number): number {
  let availability = 0;
  for (let k = 0; k < count; k += 1) if (!messageOf(k, shape).payload.match(/^[{0-9]/)) availability += 1;
  return availability / count;
}

const SUBSCRIBERS: Record<SubscriberKind, { label: string; script: string }> = {
  bare: { label: "(a) bare MQTT.js subscriber", script: "children/bare-subscriber" },
  plain: { label: "(b) add-on, plain rules", script: "children/addon-subscriber" },
  featured: { label: "(c) add-on, every feature", script: "children/addon-subscriber" },
};

/** Longer than a flush of updates on change (100 ms) and the first publication of every entity. */
const SETTLE_MS = 1_000;
/** The warm-up in parts, a flush of updates on change apart (see PublisherOrders). */
const WARMUP = { parts: 20, pauseMs: 150 } as const;
/** The add-on's children run with the node flags of its run script; the others with node's defaults. */
const ADDON_FLAGS = addonNodeFlags();

// Ctrl-C: exit properly, so the exit hooks stop the broker and the children and remove temp dirs.
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));

const started = performance.now();
const built = await buildChildren();
progress(`compiled ${built.files} TypeScript files for the child processes in ${Math.round(built.ms)} ms`);
const broker = await startBenchBroker(settings.broker).catch(async (error: unknown) => {
  await built.remove();
  throw error;
});
progress(`broker: ${broker.description}`);
const mode = settings.mode === "auto" ? (broker.kind === "mosquitto" ? "backlog" : "live") : settings.mode;
if (mode === "backlog" && broker.kind === "aedes")
  progress(
    "warning: aedes throttles the publisher and drops QoS 0 messages for a paused subscriber; use --mode live",
  );
const profileDir = path.join(PROJECT_DIR, "bench", ".profiles");

let exitCode = 0;
try {
  if (settings.soak !== undefined) await soak(settings.soak);
  else await bench();
} catch (error) {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  exitCode = 1;
} finally {
  await broker.stop();
  await built.remove();
}
process.exit(exitCode);

async function bench(): Promise<void> {
  const { sections } = settings;
  const startup = sections.has("startup")
    ? (progress(`start-up: ${settings.starts} starts of each program, one at a time`),
      await measureStartup(built, broker.port, optionsBySet.featured, subscriptions, settings.starts))
    : undefined;

  const rounds: RoundReport[] = [];
  const expectedWarm = deliveredCount(0, settings.warmup);
  const expectedBurst = deliveredCount(settings.warmup, settings.messages);
  let profiles: Partial<Record<ProfiledChild, ProfileSummary>> | undefined;
  if (settings.profile) {
    await rm(profileDir, { recursive: true, force: true });
    await mkdir(profileDir, { recursive: true });
    profiles = {};
  }
  if (sections.has("path")) {
    for (let round = 1; round <= settings.rounds; round += 1) {
      const order = SUBSCRIBER_KINDS.map(
        (_, index) => SUBSCRIBER_KINDS[(index + round - 1) % SUBSCRIBER_KINDS.length] ?? "bare",
      );
      const result = await runRound(round, order, expectedWarm, expectedBurst, false);
      rounds.push(result);
      progress(
        `round ${round}/${settings.rounds}: ${describeRound(result)} (publisher ${Math.round(result.publisherMessagesPerSecond).toLocaleString("en")} msg/s)`,
      );
    }
    if (profiles !== undefined) {
      progress("profiling round (--cpu-prof on every subscriber; not counted in the figures)");
      const profiled = await runRound(0, SUBSCRIBER_KINDS, expectedWarm, expectedBurst, true);
      for (const kind of SUBSCRIBER_KINDS) {
        profiles[kind] = await summariseProfile(path.join(profileDir, `${kind}.cpuprofile`), [
          profiled.results[kind].windowMicros,
        ]);
      }
    }
  }

  const readCost: ReadCostReport[] = [];
  if (sections.has("read")) {
    for (const set of ["plain", "featured"] as const) {
      progress(
        `read cost, ${set} rules: ${settings.readRules.toLocaleString("en")} rules over ${settings.readTopics.toLocaleString("en")} readings`,
      );
      const profile = profiles !== undefined && set === "featured";
      readCost.push(await runReadCost(settings, set, profile));
      if (profile && profiles !== undefined) {
        profiles.read = await summariseProfile(
          path.join(profileDir, "read.cpuprofile"),
          readCost.at(-1)?.steadyWindowsMicros,
        );
      }
    }
  }
  const memory: MemoryReport[] = [];
  if (sections.has("memory")) {
    for (const sources of settings.memorySources) {
      progress(
        `memory: ${sources.toLocaleString("en")} tracked sources, each in a fresh process (bare Map, add-on with plain rules, with every feature)`,
      );
      memory.push(await runMemory(sources, "plain", "children/memory-bare"));
      memory.push(await runMemory(sources, "plain", "children/memory"));
      memory.push(await runMemory(sources, "featured", "children/memory"));
    }
  }

  const featured = featuredRulesOf(shape, settings.mix);
  const report: BenchReport = {
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAverageAtStart: loadAtStart,
      loadAverage: await loadAverage(),
    },
    broker: { kind: broker.kind, description: broker.description, droppedWarnings: broker.droppedWarnings() },
    workload: {
      messages: settings.messages,
      warmup: settings.warmup,
      topics: shape.topics,
      rooms: shape.rooms,
      plain: {
        rules: rulesBySet.plain.length,
        subscriptions: subscriptionsOf(rulesBySet.plain).length,
        onChange: rulesBySet.plain.filter((rule) => rule.update === "change").length,
      },
      featured: {
        rules: rulesBySet.featured.length,
        subscriptions: subscriptionsOf(rulesBySet.featured).length,
        onChange: rulesBySet.featured.filter((rule) => rule.update === "change").length,
      },
      features: featured.counts,
      mix: settings.mix,
      subscriptions: subscriptions.length,
      deliveredPerSubscriber: expectedBurst,
      jsonShare: 0.5,
      availabilityShare: availabilityShare(Math.min(settings.messages, 100_000)),
    },
    mode,
    ...(startup === undefined ? {} : { startup }),
    rounds,
    ...(rounds.length === 0
      ? {}
      : {
          messagePath: {
            bare: summarise(rounds, "bare"),
            plain: summarise(rounds, "plain"),
            featured: summarise(rounds, "featured"),
            ratios: { plain: medianRatios(rounds, "plain"), featured: medianRatios(rounds, "featured") },
          },
        }),
    readCost,
    memory,
    ...(profiles === undefined ? {} : { profiles }),
    totalSeconds: 0,
    targets: [],
  };
  const finished: BenchReport = {
    ...report,
    totalSeconds: (performance.now() - started) / 1000,
    targets: evaluateTargets(report),
  };
  human.write(renderReport(finished));
  await writeJson(finished);
  if (
    rounds.some((round) => Object.values(round.results).some((result) => result.received < result.expected))
  )
    exitCode = 2;
}

async function soak(seconds: number): Promise<void> {
  const report = await runSoak(
    built,
    broker.port,
    {
      seconds,
      rate: settings.soakRate,
      topics: settings.soakTopics,
      rooms: Math.min(settings.rooms, 50),
      rules: settings.rules,
      sampleEverySeconds: settings.soakEvery,
      mix: settings.mix,
    },
    progress,
  );
  const targets = soakTargets(report);
  human.write(renderSoak(report, targets, await loadAverage()));
  await writeJson({
    soak: report,
    targets,
    loadAverageAtStart: loadAtStart,
    loadAverage: await loadAverage(),
  });
}

async function writeJson(value: unknown): Promise<void> {
  if (settings.jsonTarget === "stdout") process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else if (settings.jsonTarget !== undefined) {
    await writeFile(settings.jsonTarget, `${JSON.stringify(value, null, 2)}\n`);
    human.write(`JSON written to ${settings.jsonTarget}\n`);
  }
}

/* ------------------------------------------------------------------ rounds */

function subscriberOrders(
  kind: SubscriberKind,
  round: number,
  warmup: number,
  burst: number,
): SubscriberOrders {
  return {
    port: broker.port,
    clientId: `bench_${kind}_${round}_${process.pid}`,
    subscriptions,
    warmup,
    burst,
    ...(kind === "bare" ? {} : { options: optionsBySet[kind], publishing: kind === "featured" }),
  };
}

function startSubscriber(kind: SubscriberKind, profile: boolean): BenchChild<ChildMessage> {
  const execArgv = [...(kind === "bare" ? [] : ADDON_FLAGS), ...(profile ? profileFlags(kind) : [])];
  return new BenchChild<ChildMessage>(
    SUBSCRIBERS[kind].label,
    built.script(SUBSCRIBERS[kind].script),
    execArgv,
  );
}

function profileFlags(name: string): string[] {
  return ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`];
}

function isReady(message: ChildMessage): message is Extract<ChildMessage, { kind: "ready" }> {
  return message.kind === "ready";
}
function isWarm(message: ChildMessage): message is Extract<ChildMessage, { kind: "warm" }> {
  return message.kind === "warm";
}
function isDone(message: ChildMessage): message is Extract<ChildMessage, { kind: "done" }> {
  return message.kind === "done";
}
function isStatus(message: ChildMessage): message is Extract<ChildMessage, { kind: "status" }> {
  return message.kind === "status";
}
function isMarked(message: ChildMessage): message is Extract<ChildMessage, { kind: "marked" }> {
  return message.kind === "marked";
}

/** Lets the warm-up's aftermath pass, then starts the burst's figures (see ParentMessage "mark"). */
async function settleAndMark(children: readonly BenchChild<ChildMessage>[]): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  for (const child of children) child.send({ kind: "mark" } satisfies ParentMessage);
  await Promise.all(children.map((child) => child.next(isMarked, 10_000)));
}

async function publish(
  from: number,
  count: number,
  pace: Pick<PublisherOrders, "parts" | "pauseMs"> = {},
): Promise<PublisherReport> {
  const publisher = new BenchChild<PublisherReport>("publisher", built.script("children/publisher"));
  const orders: PublisherOrders = { port: broker.port, shape, from, count, ...pace };
  publisher.send(orders);
  try {
    return await publisher.next((_message): _message is PublisherReport => true, 300_000);
  } finally {
    await publisher.stop();
  }
}

/**
 * Waits for a subscriber's "done"; if it stops making progress for `quietMs`, messages were
 * lost on the way, and its partial figures are returned (received < expected says so).
 */
async function awaitBurst(child: BenchChild<ChildMessage>, quietMs = 5_000): Promise<BurstResult> {
  let lastReceived = -1;
  for (;;) {
    try {
      return (await child.next(isDone, quietMs)).result;
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
    }
    const order: ParentMessage = { kind: "report" };
    child.send(order);
    const status = await child.next(isStatus, 5_000);
    if (status.result.received === lastReceived) return status.result;
    lastReceived = status.result.received;
  }
}

async function awaitWarm(child: BenchChild<ChildMessage>, expected: number): Promise<void> {
  try {
    await child.next(isWarm, 30_000);
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    child.send({ kind: "report" } satisfies ParentMessage);
    const status = await child.next(isStatus, 5_000);
    throw new Error(
      `${child.name}: only ${status.result.received} of ${expected} warm-up messages arrived; the broker dropped messages`,
      { cause: error },
    );
  }
}

function runRound(
  round: number,
  order: readonly SubscriberKind[],
  expectedWarm: number,
  expectedBurst: number,
  profile: boolean,
): Promise<RoundReport> {
  return mode === "backlog"
    ? backlogRound(round, order, expectedWarm, expectedBurst, profile)
    : liveRound(round, order, expectedWarm, expectedBurst, profile);
}

/**
 * The default: every subscriber takes the live warm-up, then all are stopped (SIGSTOP) while
 * the burst is published, so it waits for them at the broker; then each drains it alone
 * (SIGCONT), with a core to itself and the other subscribers and the publisher idle.
 */
async function backlogRound(
  round: number,
  order: readonly SubscriberKind[],
  expectedWarm: number,
  expectedBurst: number,
  profile: boolean,
): Promise<RoundReport> {
  const children = Object.fromEntries(order.map((kind) => [kind, startSubscriber(kind, profile)])) as Record<
    SubscriberKind,
    BenchChild<ChildMessage>
  >;
  try {
    for (const kind of order) children[kind].send(subscriberOrders(kind, round, expectedWarm, expectedBurst));
    await Promise.all(order.map((kind) => children[kind].next(isReady, 20_000)));
    await publish(0, settings.warmup, WARMUP);
    await Promise.all(order.map((kind) => awaitWarm(children[kind], expectedWarm)));
    await settleAndMark(order.map((kind) => children[kind]));
    for (const kind of order) children[kind].pause();
    const published = await publish(settings.warmup, settings.messages);
    const results: Partial<Record<SubscriberKind, BurstResult>> = {};
    for (const kind of order) {
      children[kind].resume();
      results[kind] = await awaitBurst(children[kind]);
    }
    return roundReport(round, order, results, published);
  } finally {
    await Promise.all(order.map((kind) => children[kind].stop({ kind: "exit" } satisfies ParentMessage)));
  }
}

/**
 * `--mode live`: one subscriber at a time receives the burst while it is being published, so
 * publisher, broker and subscriber share the machine as they would in a busy home.
 */
async function liveRound(
  round: number,
  order: readonly SubscriberKind[],
  expectedWarm: number,
  expectedBurst: number,
  profile: boolean,
): Promise<RoundReport> {
  const results: Partial<Record<SubscriberKind, BurstResult>> = {};
  let published: PublisherReport | undefined;
  for (const kind of order) {
    const child = startSubscriber(kind, profile);
    try {
      child.send(subscriberOrders(kind, round, expectedWarm, expectedBurst));
      await child.next(isReady, 20_000);
      await publish(0, settings.warmup, WARMUP);
      await awaitWarm(child, expectedWarm);
      await settleAndMark([child]);
      const [report, result] = await Promise.all([
        publish(settings.warmup, settings.messages),
        awaitBurst(child),
      ]);
      published = report;
      results[kind] = result;
    } finally {
      await child.stop({ kind: "exit" } satisfies ParentMessage);
    }
  }
  if (published === undefined) throw new Error("no burst was published");
  return roundReport(round, order, results, published);
}

function roundReport(
  round: number,
  order: readonly SubscriberKind[],
  results: Partial<Record<SubscriberKind, BurstResult>>,
  published: PublisherReport,
): RoundReport {
  const { bare, plain, featured } = results;
  if (bare === undefined || plain === undefined || featured === undefined)
    throw new Error("a subscriber reported nothing");
  return {
    round,
    order: [...order],
    publisherMessagesPerSecond: (published.published / published.elapsedMs) * 1000,
    results: { bare, plain, featured },
  };
}

function describeRound(round: RoundReport): string {
  return round.order
    .map((kind) => {
      const result = round.results[kind];
      const rate = result.elapsedMs === 0 ? 0 : (result.received / result.elapsedMs) * 1000;
      const lost = result.expected - result.received;
      const published = result.published > 0 ? `, published ${result.published.toLocaleString("en")}` : "";
      return `${kind} ${Math.round(rate).toLocaleString("en")} msg/s, ${(result.cpuMicros / Math.max(1, result.received)).toFixed(2)} µs CPU/msg (${(result.systemMicros / Math.max(1, result.received)).toFixed(2)} system)${published}${lost > 0 ? `, ${lost} LOST` : ""}`;
    })
    .join("; ");
}

function summarise(rounds: readonly RoundReport[], kind: SubscriberKind): SubscriberSummary {
  const results = rounds.map((round) => round.results[kind]);
  const figures = results.map(roundFigures);
  return {
    messagesPerSecond: medianOf(figures.map((one) => one.messagesPerSecond)),
    cpuMicrosPerMessage: medianOf(figures.map((one) => one.cpuMicrosPerMessage)),
    peakRssBytes: medianOf(figures.map((one) => one.peakRssBytes)),
    idleRssBytes: medianOf(figures.map((one) => one.idleRssBytes)),
    publishedPerSecond: medianOf(figures.map((one) => one.publishedPerSecond)),
    publishedPerBurst: medianOf(results.map((result) => result.published)),
    received: Math.min(...results.map((result) => result.received)),
    expected: Math.max(...results.map((result) => result.expected)),
    distinctTopics: Math.min(...results.map((result) => result.distinctTopics)),
  };
}

/* --------------------------------------------------------- read and memory */

async function runReadCost(given: BenchSettings, set: RuleSet, profile: boolean): Promise<ReadCostReport> {
  const execArgv = [...ADDON_FLAGS, "--expose-gc", ...(profile ? profileFlags("read") : [])];
  const child = new BenchChild<ReadCostReport>(
    "read-cost child",
    built.script("children/read-cost"),
    execArgv,
  );
  const orders: ReadCostOrders = {
    shape: { topics: given.readTopics, rules: given.readRules, rooms: given.rooms },
    set,
    mix: given.mix,
    reads: given.reads,
  };
  child.send(orders);
  try {
    return await child.next((_message): _message is ReadCostReport => true, 300_000);
  } finally {
    await child.stop();
  }
}

async function runMemory(sources: number, set: RuleSet, script: string): Promise<MemoryReport> {
  const flags = script.endsWith("memory-bare") ? [] : ADDON_FLAGS;
  const child = new BenchChild<MemoryReport>("memory child", built.script(script), [...flags, "--expose-gc"]);
  const orders: MemoryOrders = {
    shape: { topics: sources, rules: settings.rules, rooms: settings.rooms },
    set,
    mix: settings.mix,
  };
  child.send(orders);
  try {
    return await child.next((_message): _message is MemoryReport => true, 300_000);
  } finally {
    await child.stop();
  }
}
