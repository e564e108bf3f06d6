import { randomBytes } from "node:crypto";
import type { DerivedValue, UnusableSource } from "../core/derived-value.js";
import { Evaluation } from "../core/evaluation.js";
import type { ReadResult } from "../core/read-job.js";
import { ReadingsStore, type SavedReading } from "../core/readings-store.js";
import { isFormulaRule } from "../core/rule.js";
import { subscriptionsOf } from "../core/subscriptions.js";
import { formatState, type AddonInfo } from "../homeassistant/discovery-payloads.js";
import { EntityPublisher } from "../homeassistant/entity-publisher.js";
import {
  homeAssistantStatusTopic,
  entityKeyOfStateTopic,
  ownConfigsFilter,
  ownStatesFilter,
  statusTopic,
  type TopicLayout,
} from "../homeassistant/entity-topics.js";
import { planDiscovery } from "../homeassistant/stale-entities.js";
import type { Logger } from "../logging/logger.js";
import {
  BrokerConnection,
  type AddressSource,
  type BrokerAddress,
  type ConnectionTiming,
} from "../mqtt/broker-connection.js";
import type { Settings } from "../options/settings.js";
import { StateFile } from "../persistence/state-file.js";
import { startStatusPage, type ListenAddress, type StatusPage } from "../status-page/status-page.js";
import { ingestMessage } from "./message-intake.js";
import { ComputeQueue } from "./compute-queue.js";
import { inSlices, readInSlices } from "./slices.js";
import { scheduleReads } from "./read-schedule.js";
import { UpdateScheduler } from "./update-scheduler.js";
import type { PendingChange } from "../core/output-policy.js";
import { StatusFeed } from "./status-feed.js";

/** How long to listen for retained discovery configs before deciding which entities are stale. */
const RETAINED_QUIET_MS = 500;
const RETAINED_LONGEST_MS = 3_000;
/** Home Assistant's births are answered after a random pause, but never later than this after the first of a burst. */
const BIRTH_LONGEST_WAIT_MS = 5_000;

export interface AddonDependencies {
  readonly settings: Settings;
  readonly broker: BrokerAddress;
  /** Where the broker's address came from, to ask again when it stops working (the Supervisor). */
  readonly brokerSource?: AddressSource | undefined;
  readonly connectionTiming?: Partial<ConnectionTiming> | undefined;
  readonly dataDir: string;
  readonly log: Logger;
  readonly addon: AddonInfo;
  /** Where a person sees what the add-on does (the status page), shown on its devices; none when absent. */
  readonly configurationUrl?: string | undefined;
  /** A monotonic clock in milliseconds: what ages and intervals are measured with. */
  readonly now?: () => number;
  /** The wall clock, for what is saved and shown; NTP may set it back. */
  readonly wallNow?: () => number;
  readonly random?: () => number;
  /** Where the status page listens; none without. */
  readonly statusPage?: ListenAddress | undefined;
}

/** Entities named in a rule's line after its first read, at most. */
const ENTITIES_DESCRIBED = 10;
/** Warnings about sources turning unusable, at most, per read; a count says how many more. */
const UNUSABLE_WARNINGS_PER_READ = 10;

/** Milliseconds on a clock that only moves forward, anchored near the wall clock for readability. */
export function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}

export interface RunningAddon {
  /** Saves the readings, says `offline` and disconnects. */
  stop(): Promise<void>;
  /** Reads every rule now and publishes the results (the demo and tests use it). */
  readNow(): Promise<void>;
  /** How long the add-on has been without a working broker connection; 0 while it has one. */
  offlineForMs(): number;
  readonly store: ReadingsStore;
  /** Every publish of derived values, for whoever else shows them (the status page). */
  readonly feed: StatusFeed;
  /** Undefined when there is none (not asked for, or it could not listen). */
  readonly statusPage: StatusPage | undefined;
}

/**
 * Wires the core to the outside: broker messages into the readings store, read times into
 * Home Assistant entities, and the state file across restarts.
 */
export async function startAddon(deps: AddonDependencies): Promise<RunningAddon> {
  const { settings, log } = deps;
  const now = deps.now ?? monotonicNow;
  const wallNow = deps.wallNow ?? Date.now;
  const clock: Clock = { now, wallNow };
  const random = deps.random ?? Math.random;
  // Checked once: the level is fixed for the run, and the message path should not ask per message.
  const tracing = log.isLevelEnabled("trace");
  const layout: TopicLayout = { discoveryPrefix: settings.discoveryPrefix, baseTopic: settings.baseTopic };
  const birthTopic = homeAssistantStatusTopic(layout);
  const configsFilter = ownConfigsFilter(layout);
  const statesFilter = ownStatesFilter(layout);

  const store = new ReadingsStore(settings.rules, {
    ignoredPrefixes: [`${settings.baseTopic}/`, `${settings.discoveryPrefix}/`],
    onSourceLimit: (rule, topic) =>
      log.warn(
        `Rule "${rule.nameTemplate}" matches more than ${rule.maxSources} topics (max_sources); the least recently updated are dropped, starting with ${topic}`,
      ),
  });
  // Formula rules are computed after the rules they use, at the same read or flush.
  const evaluation = new Evaluation(store, settings.rules);
  const formulaKeys = new Set(settings.rules.filter(isFormulaRule).map((rule) => rule.key));
  const feed = new StatusFeed();
  const stateFile = new StateFile(deps.dataDir);
  // Restored readings are published as soon as the broker is there, not at the first read time.
  let publishRestored = (await restoreReadings(stateFile, evaluation, clock, log)) > 0;

  /** Discovery configs on the broker at start-up, with their payloads, while they are being collected. */
  let retainedConfigs: Map<string, string> | undefined;
  /** Entity keys with a retained state at start-up: entities that have had a value. */
  let retainedStates: Set<string> | undefined;
  let lastRetainedAt = 0;
  /** Set once the stale-entity cleanup has run to its end on one connection: once per start is enough. */
  let cleanupDone = false;
  /** The cleanup under way: a reconnect waits for it to notice that its connection is gone. */
  let cleanupRun: Promise<unknown> | undefined;
  let birthTimer: NodeJS.Timeout | undefined;
  let birthBurstStartedAt: number | undefined;

  const connection = new BrokerConnection({
    address: deps.broker,
    addressSource: deps.brokerSource,
    timing: deps.connectionTiming,
    clientId: `mqtt_aggregator_${randomBytes(4).toString("hex")}`,
    statusTopic: statusTopic(layout),
    log,
    onMessage: (topic, payload) => {
      if (topic === birthTopic) {
        if (payload.toString() === "online") onBirth();
        return;
      }
      if (
        retainedConfigs !== undefined &&
        payload.length > 0 &&
        topic.startsWith(`${settings.discoveryPrefix}/`)
      ) {
        retainedConfigs.set(topic, payload.toString());
        lastRetainedAt = performance.now();
        return;
      }
      if (retainedStates !== undefined && payload.length > 0 && topic.startsWith(`${settings.baseTopic}/`)) {
        const key = entityKeyOfStateTopic(layout, topic);
        if (key !== undefined) retainedStates.add(key);
        lastRetainedAt = performance.now();
        return;
      }
      // For "why is my sensor not counted?": every message, at trace level only.
      if (tracing) log.trace(`Received ${topic} (${payload.length} bytes)`);
      ingestMessage(store, topic, payload, now());
      updates.poke();
    },
    onConnected: async (lost) => {
      const filters = subscriptionsOf(settings.rules);
      await connection.subscribe([birthTopic, ...filters]);
      log.info(`Listening to ${filters.length} topic filter${filters.length === 1 ? "" : "s"}`);
      await removeStaleEntitiesOnce(lost);
      const entities = evaluation.entities();
      await publisher.announce(entities);
      log.debug(`Announced ${entities.length} entit${entities.length === 1 ? "y" : "ies"} to Home Assistant`);
      if (publishRestored) {
        publishRestored = false;
        await read();
      }
    },
  });
  const publisher = new EntityPublisher({
    layout,
    addon: deps.addon,
    rules: settings.rules,
    publish: (topic, payload, options) => connection.publish(topic, payload, options),
    expiresMessages: () => connection.expiresMessages,
    now,
    device: { configurationUrl: deps.configurationUrl },
  });

  const computations = new ComputeQueue();
  const updates = new UpdateScheduler({
    evaluation,
    inTurn: (compute) => computations.run(compute),
    rules: settings.rules,
    now,
    // A slice at a time: a read of 1,000 entities publishes 3,000 messages, which would hold up
    // the event loop for a while if handed to MQTT.js at once.
    publish: async (outputs, isNewest) => {
      await publisher.introduce(outputs.map(({ value }) => value.identity));
      const published: DerivedValue[] = [];
      await inSlices(outputs, (slice) => {
        const current = slice.filter(isNewest);
        for (const { value } of current) published.push(value);
        return publisher.publishDerived(
          current.map(({ value, pending }) => ({
            derived: value,
            pending: pending === undefined ? undefined : { on: pending.on, at: wallTimeOf(pending) },
          })),
        );
      });
      // The status page shows what Home Assistant was given.
      feed.published(published, now());
    },
    onFindings: (found) => reportFindings(found),
  });
  /**
   * When a pending change takes effect, in wall time as a person reads it: worked out once per
   * pending change, so that its attribute does not jitter by a millisecond at every publish.
   */
  const pendingWallTimes = new WeakMap<PendingChange, Date>();
  function wallTimeOf(pending: PendingChange): Date {
    let at = pendingWallTimes.get(pending);
    if (at === undefined) {
      at = new Date(wallNow() + pending.at - now());
      pendingWallTimes.set(pending, at);
    }
    return at;
  }

  /**
   * Once per start, on the first connection that stays up through it; never twice at a time,
   * since a reconnect can land while it still runs.
   */
  async function removeStaleEntitiesOnce(lost: AbortSignal): Promise<void> {
    await cleanupRun;
    if (cleanupDone || lost.aborted) return;
    const run = removeStaleEntities(lost);
    cleanupRun = run.catch(() => undefined);
    cleanupDone = await run;
  }

  /** Returns whether it ran to its end; a connection lost on the way leaves it to the next one. */
  async function removeStaleEntities(lost: AbortSignal): Promise<boolean> {
    const collected = new Map<string, string>();
    const withState = new Set<string>();
    retainedConfigs = collected;
    retainedStates = withState;
    lastRetainedAt = performance.now();
    try {
      await connection.subscribe([configsFilter, statesFilter]);
      const started = performance.now();
      // Retained messages follow the subscription at once; stop listening when they stop coming.
      while (
        !lost.aborted &&
        performance.now() - lastRetainedAt < RETAINED_QUIET_MS &&
        performance.now() - started < RETAINED_LONGEST_MS
      ) {
        await sleep(100);
      }
    } finally {
      retainedConfigs = undefined;
      retainedStates = undefined;
    }
    // A lost connection may have cut the retained configs short: deciding now could miss some.
    if (lost.aborted) return false;
    await connection.unsubscribe([configsFilter, statesFilter]);
    const shown = new Set(evaluation.shownEntityKeys());
    const hadValue = (entityKey: string) => withState.has(entityKey) || shown.has(entityKey);
    const plan = planDiscovery(layout, collected, settings.rules, hadValue);
    // What Home Assistant already has is taken over before anything is announced.
    publisher.adopt(plan);
    if (plan.stale.length > 0) await publisher.clear(plan.stale.flat());
    if (isAborted(lost)) return false;
    const removed = plan.removedNames;
    if (removed.length > 0)
      log.info(
        `Removed ${removed.length} entit${removed.length === 1 ? "y" : "ies"} whose rule no longer exists or that never had a value: ${listNames(removed)}`,
      );
    return true;
  }

  function onBirth(): void {
    // Home Assistant restarted; spread the republishing of many add-ons over a few seconds. Births
    // that keep coming (Home Assistant restarting in a loop) must not postpone it for ever.
    const at = performance.now();
    birthBurstStartedAt ??= at;
    const pauseMs = 500 + Math.floor(random() * 2_000);
    const waitMs = Math.min(pauseMs, birthBurstStartedAt + BIRTH_LONGEST_WAIT_MS - at);
    clearTimeout(birthTimer);
    birthTimer = setTimeout(
      () => {
        birthBurstStartedAt = undefined;
        log.info("Home Assistant restarted; publishing the entities again");
        void publisher.announce(evaluation.entities());
      },
      Math.max(0, waitMs),
    );
  }

  /** Why saves fail, while they do: said when they start failing and when they work again, not at every read. */
  let saveProblem: string | undefined;
  async function save(): Promise<void> {
    const problem = await saveReadings(stateFile, evaluation, clock);
    if (problem !== undefined && saveProblem === undefined)
      log.warn(
        `Cannot save the readings to ${stateFile.path}: ${problem}; retrying at each read (the log says when it works again)`,
      );
    else if (problem === undefined && saveProblem !== undefined)
      log.info(`Saving the readings to ${stateFile.path} works again`);
    saveProblem = problem;
  }

  /** Rules already described after their first read, and rules already told about true/false readings. */
  const described = new Set<string>();
  const toldOfBooleans = new Set<string>();

  /** What a read or a flush found that a person should hear of, each once. */
  function reportFindings({ turnedUnusable, booleansMissed = [] }: ReadResult): void {
    warnUnusable(turnedUnusable, log);
    for (const rule of booleansMissed) {
      if (toldOfBooleans.has(rule.key)) continue;
      toldOfBooleans.add(rule.key);
      log.warn(
        `Rule "${rule.nameTemplate}" reads JSON true/false values, which never equal its on_value ${JSON.stringify(rule.onValues.join(", "))}; set on_value: "true" to count true as on, or "false" for false (quoted in YAML)`,
      );
    }
  }

  let lastSavedAt = Number.NEGATIVE_INFINITY;
  async function read(ruleKeys?: readonly string[]): Promise<void> {
    // Its time is when its turn comes: a read waiting for a flush must not read at an earlier time.
    // After a rule's first read, only entities whose inputs changed: the others were published
    // when they were last computed, at a read or a flush, and Home Assistant has them.
    const keys = ruleKeys ?? settings.rules.map((rule) => rule.key);
    const onlyChanged = keys.every((key) => described.has(key));
    const { at, result } = await computations.run(async () => {
      const startedAt = now();
      updates.markDue();
      const job = evaluation.beginRead(startedAt, ruleKeys, undefined, { onlyChanged });
      await readInSlices(job);
      return { at: startedAt, result: job.result() };
    });
    const derived = result.values;
    reportFindings(result);
    describeFirstRead(derived, ruleKeys);
    const retired = store.takeRemovedEntities();
    if (retired.length > 0)
      log.info(
        `No longer computing ${retired.length} entit${retired.length === 1 ? "y" : "ies"} whose topics were dropped at max_sources, now unavailable: ${listNames(retired.map((identity) => identity.name))}`,
      );
    for (const identity of retired) updates.forget(identity.entityKey);
    await publisher.retire(retired);
    feed.retired(retired);
    await updates.show(derived, "interval");
    await publisher.renewDue();
    if (log.isLevelEnabled("debug")) {
      log.debug(
        `Read ${derived.length} derived value${derived.length === 1 ? "" : "s"}${onlyChanged ? " whose inputs changed" : ""}`,
      );
      for (const value of derived)
        log.debug(
          `${value.identity.name}: ${describeDerived(value, formulaKeys.has(value.identity.ruleKey))}`,
        );
    }
    // Saved at read times, but not more often than read_interval: a rule read every few seconds
    // must not rewrite the state file as often, on the SD card of a Raspberry Pi.
    if (at - lastSavedAt >= settings.readIntervalMs) {
      lastSavedAt = at;
      await save();
    }
  }

  /**
   * After a rule's first read, one line for it: how many topics it sees, its entities, and why
   * those that are unavailable are; "why is nothing showing up?" is answered in the log at once.
   */
  function describeFirstRead(values: readonly DerivedValue[], ruleKeys: readonly string[] | undefined): void {
    const read = new Set(ruleKeys ?? settings.rules.map((rule) => rule.key));
    for (const rule of settings.rules) {
      if (!read.has(rule.key) || described.has(rule.key)) continue;
      described.add(rule.key);
      const entities = values.filter((value) => value.identity.ruleKey === rule.key);
      const topics = store.sourceCountOf(rule.key);
      const seen = `Rule "${rule.nameTemplate}" sees ${topics} topic${topics === 1 ? "" : "s"}`;
      if (entities.length === 0) {
        log.info(`${seen} and has no entity yet: none of its topics has given a usable reading`);
        continue;
      }
      const shown = entities.slice(0, ENTITIES_DESCRIBED).map((value) => {
        const state = value.state;
        const name = JSON.stringify(value.identity.name);
        return state.kind === "none"
          ? `${name} unavailable (${state.reason})`
          : `${name} ${formatState(state, rule.presentation.precision)}`;
      });
      const more = entities.length - shown.length;
      const unavailable = entities.filter((value) => value.state.kind === "none").length;
      log.info(
        `${seen}; ${entities.length} entit${entities.length === 1 ? "y" : "ies"}${unavailable > 0 ? `, ${unavailable} unavailable` : ""}: ${shown.join(", ")}${more > 0 ? ` and ${more} more` : ""}`,
      );
    }
  }

  if (settings.rules.length === 0) log.warn("No rules are configured: add some in the Configuration tab");
  const stopReads = scheduleReads(settings.rules, settings.firstReadDelayMs, read);
  const statusPage =
    deps.statusPage === undefined
      ? undefined
      : await startStatusPage({
          listen: deps.statusPage,
          feed,
          store,
          rules: settings.rules,
          broker: deps.broker,
          layout,
          log,
          now,
        });

  return {
    store,
    feed,
    statusPage,
    readNow: () => read(),
    offlineForMs: () => connection.offlineForMs(),
    async stop() {
      stopReads();
      updates.stop();
      await statusPage?.stop();
      clearTimeout(birthTimer);
      await save();
      await connection.stop();
    },
  };
}

export { subscriptionsOf };

interface Clock {
  readonly now: () => number;
  readonly wallNow: () => number;
}

function describeDerived(value: DerivedValue, formula: boolean): string {
  const state = value.state;
  const shown = state.kind === "none" ? `unavailable (${state.reason})` : formatState(state, undefined);
  const { counts } = value;
  if (formula) return `${shown} from ${counts.counted} available, ${counts.unavailable} unavailable`;
  return `${shown} from ${counts.counted} counted, ${counts.stale} stale, ${counts.offline} offline, ${counts.unusable} unusable, ${counts.out_of_range} out of range`;
}

/** One line per source that turned unusable, a bounded number per read: a flood is one summary. */
function warnUnusable(found: readonly UnusableSource[], log: Logger): void {
  for (const { identity, source, why } of found.slice(0, UNUSABLE_WARNINGS_PER_READ))
    log.warn(`"${identity.name}" ignores ${source}: ${why}`);
  const more = found.length - UNUSABLE_WARNINGS_PER_READ;
  if (more > 0)
    log.warn(
      `${more} more source${more === 1 ? "" : "s"} turned unusable at this read (see the entities' attributes)`,
    );
}

/** Names as a person reads them in a log line: quoted (they come from the broker), at most 20. */
function listNames(names: readonly string[]): string {
  const shown = names
    .slice(0, 20)
    .map((name) => JSON.stringify(name.length > 80 ? `${name.slice(0, 79)}…` : name));
  const more = names.length - shown.length;
  return more > 0 ? `${shown.join(", ")} and ${more} more` : shown.join(", ");
}

/** Returns how many saved readings were taken back. */
async function restoreReadings(
  stateFile: StateFile,
  evaluation: Evaluation,
  clock: Clock,
  log: Logger,
): Promise<number> {
  const { store } = evaluation;
  const leftovers = await stateFile.removeLeftovers();
  if (leftovers > 0)
    log.info(
      `Removed ${leftovers} temporary file${leftovers === 1 ? "" : "s"} of an interrupted save from the data folder`,
    );
  const loaded = await stateFile.load();
  if (loaded.kind === "missing") return 0;
  if (loaded.kind === "unreadable") {
    log.warn(`Ignoring the saved readings in ${stateFile.path}: ${loaded.why}`);
    return 0;
  }
  evaluation.reserveEntityKeys(loaded.entityKeys);
  evaluation.rememberShownEntities(loaded.shownEntities);
  const monotonic = clock.now();
  // Ages are measured on the monotonic clock; a saved time is turned into an age on the wall clock.
  // The age at saving is exact (both times are from the same clock then); the time since may be
  // negative if the wall clock was set back since, and is then taken as none.
  const sinceSave = Math.max(0, clock.wallNow() - loaded.savedAt);
  const readings: SavedReading[] = loaded.readings.map((reading) => ({
    ...reading,
    receivedAt: monotonic - sinceSave - Math.max(0, loaded.savedAt - reading.receivedAt),
  }));
  const restored = store.restore(readings, monotonic);
  log.info(
    `Restored ${restored} of ${loaded.readings.length} saved readings (the others are too old or no longer match a rule)`,
  );
  return restored;
}

/** Returns why the save failed (a full disk, a read-only folder), or undefined when it worked. */
async function saveReadings(
  stateFile: StateFile,
  evaluation: Evaluation,
  clock: Clock,
): Promise<string | undefined> {
  const { store } = evaluation;
  const wall = clock.wallNow();
  const monotonic = clock.now();
  const readings = store
    .snapshot()
    .map((reading) => ({ ...reading, receivedAt: wall - (monotonic - reading.receivedAt) }));
  try {
    await stateFile.save(
      { readings, entityKeys: evaluation.contestedEntityKeys(), shownEntities: evaluation.shownEntityKeys() },
      wall,
    );
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Read through a call: the connection can drop while something is awaited. */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
