/**
 * `npm run bench`: the add-on's cost per message next to the limit (a bare MQTT.js subscriber),
 * its read-time cost and its memory, on a broker it starts itself. See bench/README.md.
 */
import os from "node:os";
import { mkdir, rm, writeFile } from "node:fs/promises";
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
  roundFigures,
  type BenchReport,
  type RoundReport,
  type ProfiledChild,
  type SubscriberKind,
  type SubscriberSummary,
} from "./report.js";
import { optionsOf, rulesOf, topicOf, type HomeShape } from "./workload.js";

const cli = parseCli(process.argv.slice(2));
if (cli.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const settings = cli.settings;
// With --json on stdout, everything for people goes to stderr so stdout stays one JSON document.
const human = settings.jsonTarget === "stdout" ? process.stderr : process.stdout;
const progress = (line: string) => process.stderr.write(`  · ${line}\n`);

const shape: HomeShape = { topics: settings.topics, rules: settings.rules, rooms: settings.rooms };
const options = optionsOf(shape);
const parsed = parseOptions(options);
if (!parsed.ok) throw new Error(`the bench's options are invalid:\n${parsed.problems.join("\n")}`);
const rules = parsed.settings.rules;
const subscriptions = subscriptionsOf(rules);

/** Which topics the subscriptions deliver: both subscribers only see those. */
const subscriptionMatcher = new TopicMatcher<string>();
for (const subscription of subscriptions) {
  const filter = parseTopicFilter(subscription);
  if (filter.ok) subscriptionMatcher.add(filter.value, subscription);
}
const delivered = Array.from(
  { length: shape.topics },
  (_, index) => subscriptionMatcher.match(topicOf(index, shape)).length > 0,
);
function deliveredCount(from: number, count: number): number {
  let total = 0;
  for (let index = from; index < from + count; index += 1) if (delivered[index % shape.topics]) total += 1;
  return total;
}

const SUBSCRIBERS: Record<SubscriberKind, { label: string; script: string }> = {
  bare: { label: "(a) bare MQTT.js subscriber", script: "children/bare-subscriber" },
  addon: { label: "(b) add-on message path", script: "children/addon-subscriber" },
};

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
  const rounds: RoundReport[] = [];
  const expectedWarm = deliveredCount(0, settings.warmup);
  const expectedBurst = deliveredCount(settings.warmup, settings.messages);
  for (let round = 1; round <= settings.rounds; round += 1) {
    const order: SubscriberKind[] = round % 2 === 1 ? ["bare", "addon"] : ["addon", "bare"];
    const result = await runRound(round, order, expectedWarm, expectedBurst, false);
    rounds.push(result.round);
    progress(
      `round ${round}/${settings.rounds}: ${describeRound(result.round)} (publisher ${Math.round(result.round.publisherMessagesPerSecond).toLocaleString("en")} msg/s)`,
    );
  }

  let profiles: Partial<Record<ProfiledChild, ProfileSummary>> | undefined;
  if (settings.profile) {
    await rm(profileDir, { recursive: true, force: true });
    await mkdir(profileDir, { recursive: true });
    progress("profiling round (--cpu-prof on both subscribers; not counted in the figures)");
    const profiled = await runRound(0, ["bare", "addon"], expectedWarm, expectedBurst, true);
    profiles = {};
    for (const kind of ["bare", "addon"] as const) {
      profiles[kind] = await summariseProfile(path.join(profileDir, `${kind}.cpuprofile`), [
        profiled.round[kind].windowMicros,
      ]);
    }
  }

  progress(
    `read cost: ${settings.readRules.toLocaleString("en")} rules over ${settings.readTopics.toLocaleString("en")} readings`,
  );
  const readCost = await runReadCost(settings, settings.profile);
  if (settings.profile) {
    profiles = {
      ...profiles,
      read: await summariseProfile(path.join(profileDir, "read.cpuprofile"), readCost.steadyWindowsMicros),
    };
  }
  const memory: MemoryReport[] = [];
  for (const sources of settings.memorySources) {
    progress(
      `memory: ${sources.toLocaleString("en")} tracked sources in a fresh process (add-on, then a bare Map)`,
    );
    memory.push(await runMemory(sources, settings, "children/memory"));
    memory.push(await runMemory(sources, settings, "children/memory-bare"));
  }

  const report: BenchReport = {
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAverage: os.loadavg(),
    },
    broker: { kind: broker.kind, description: broker.description, droppedWarnings: broker.droppedWarnings() },
    workload: {
      messages: settings.messages,
      warmup: settings.warmup,
      topics: shape.topics,
      rooms: shape.rooms,
      rules: rules.length,
      ruleKinds: describeRules(shape),
      subscriptions: subscriptions.length,
      deliveredPerSubscriber: expectedBurst,
      jsonShare: 0.5,
    },
    mode,
    rounds,
    messagePath: {
      bare: summarise(rounds, "bare"),
      addon: summarise(rounds, "addon"),
      ratios: medianRatios(rounds),
    },
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
  if (settings.jsonTarget === "stdout") process.stdout.write(`${JSON.stringify(finished, null, 2)}\n`);
  else if (settings.jsonTarget !== undefined) {
    await writeFile(settings.jsonTarget, `${JSON.stringify(finished, null, 2)}\n`);
    human.write(`JSON written to ${settings.jsonTarget}\n`);
  }
  if (
    rounds.some(
      (round) => round.bare.received < round.bare.expected || round.addon.received < round.addon.expected,
    )
  )
    exitCode = 2;
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
    ...(kind === "addon" ? { options } : {}),
  };
}

function startSubscriber(kind: SubscriberKind, profile: boolean): BenchChild<ChildMessage> {
  const execArgv = profile ? profileFlags(kind) : [];
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

async function publish(from: number, count: number): Promise<PublisherReport> {
  const publisher = new BenchChild<PublisherReport>("publisher", built.script("children/publisher"));
  const orders: PublisherOrders = { port: broker.port, shape, from, count };
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
    await child.next(isWarm, 15_000);
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
): Promise<{ round: RoundReport }> {
  return mode === "backlog"
    ? backlogRound(round, order, expectedWarm, expectedBurst, profile)
    : liveRound(round, order, expectedWarm, expectedBurst, profile);
}

/**
 * The default: both subscribers take the live warm-up, then both are stopped (SIGSTOP) while
 * the burst is published, so it waits for them at the broker; then each drains it alone
 * (SIGCONT), with a core to itself and the other subscriber and the publisher idle.
 */
async function backlogRound(
  round: number,
  order: readonly SubscriberKind[],
  expectedWarm: number,
  expectedBurst: number,
  profile: boolean,
): Promise<{ round: RoundReport }> {
  const children = {
    bare: startSubscriber("bare", profile),
    addon: startSubscriber("addon", profile),
  };
  try {
    for (const kind of order) children[kind].send(subscriberOrders(kind, round, expectedWarm, expectedBurst));
    await Promise.all(order.map((kind) => children[kind].next(isReady, 20_000)));
    await publish(0, settings.warmup);
    await Promise.all(order.map((kind) => awaitWarm(children[kind], expectedWarm)));
    for (const kind of order) children[kind].pause();
    const published = await publish(settings.warmup, settings.messages);
    const results: Partial<Record<SubscriberKind, BurstResult>> = {};
    for (const kind of order) {
      children[kind].resume();
      results[kind] = await awaitBurst(children[kind]);
    }
    return {
      round: roundReport(round, order, results, published),
    };
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
): Promise<{ round: RoundReport }> {
  const results: Partial<Record<SubscriberKind, BurstResult>> = {};
  let published: PublisherReport | undefined;
  for (const kind of order) {
    const child = startSubscriber(kind, profile);
    try {
      child.send(subscriberOrders(kind, round, expectedWarm, expectedBurst));
      await child.next(isReady, 20_000);
      await publish(0, settings.warmup);
      await awaitWarm(child, expectedWarm);
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
  return { round: roundReport(round, order, results, published) };
}

function roundReport(
  round: number,
  order: readonly SubscriberKind[],
  results: Partial<Record<SubscriberKind, BurstResult>>,
  published: PublisherReport,
): RoundReport {
  const { bare, addon } = results;
  if (bare === undefined || addon === undefined) throw new Error("a subscriber reported nothing");
  return {
    round,
    order: [...order],
    publisherMessagesPerSecond: (published.published / published.elapsedMs) * 1000,
    bare,
    addon,
  };
}

function describeRound(round: RoundReport): string {
  const one = (kind: SubscriberKind) => {
    const result = round[kind];
    const rate = result.elapsedMs === 0 ? 0 : (result.received / result.elapsedMs) * 1000;
    const lost = result.expected - result.received;
    return `${kind} ${Math.round(rate).toLocaleString("en")} msg/s, ${(result.cpuMicros / Math.max(1, result.received)).toFixed(2)} µs CPU/msg${lost > 0 ? `, ${lost} LOST` : ""}`;
  };
  return `${one(round.order[0] ?? "bare")}; ${one(round.order[1] ?? "addon")}`;
}

function summarise(rounds: readonly RoundReport[], kind: SubscriberKind): SubscriberSummary {
  const results = rounds.map((round) => round[kind]);
  const figures = results.map(roundFigures);
  return {
    messagesPerSecond: medianOf(figures.map((one) => one.messagesPerSecond)),
    cpuMicrosPerMessage: medianOf(figures.map((one) => one.cpuMicrosPerMessage)),
    peakRssBytes: medianOf(figures.map((one) => one.peakRssBytes)),
    idleRssBytes: medianOf(figures.map((one) => one.idleRssBytes)),
    received: Math.min(...results.map((result) => result.received)),
    expected: Math.max(...results.map((result) => result.expected)),
    distinctTopics: Math.min(...results.map((result) => result.distinctTopics)),
  };
}

/* --------------------------------------------------------- read and memory */

async function runReadCost(given: BenchSettings, profile: boolean): Promise<ReadCostReport> {
  const execArgv = ["--expose-gc", ...(profile ? profileFlags("read") : [])];
  const child = new BenchChild<ReadCostReport>(
    "read-cost child",
    built.script("children/read-cost"),
    execArgv,
  );
  const orders: ReadCostOrders = {
    shape: { topics: given.readTopics, rules: given.readRules, rooms: given.rooms },
    reads: given.reads,
  };
  child.send(orders);
  try {
    return await child.next((_message): _message is ReadCostReport => true, 300_000);
  } finally {
    await child.stop();
  }
}

async function runMemory(sources: number, given: BenchSettings, script: string): Promise<MemoryReport> {
  const child = new BenchChild<MemoryReport>("memory child", built.script(script), ["--expose-gc"]);
  const orders: MemoryOrders = { shape: { topics: sources, rules: given.rules, rooms: given.rooms } };
  child.send(orders);
  try {
    return await child.next((_message): _message is MemoryReport => true, 300_000);
  } finally {
    await child.stop();
  }
}

function describeRules(home: HomeShape): Record<string, number> {
  const all = rulesOf(home);
  const topicOfRule = (rule: Record<string, unknown>) =>
    typeof rule["topic"] === "string" ? rule["topic"] : "";
  return {
    namedWildcard: all.filter((rule) => /(^|\/)\+[A-Za-z_]/.test(topicOfRule(rule))).length,
    multiLevelWildcard: all.filter((rule) => topicOfRule(rule).endsWith("#")).length,
    singleLevelWildcard: all.filter((rule) => /(^|\/)\+(\/|$)/.test(topicOfRule(rule))).length,
    literal: all.filter((rule) => !/[+#]/.test(topicOfRule(rule))).length,
    withValuePath: all.filter((rule) => rule["value_path"] !== undefined).length,
  };
}
