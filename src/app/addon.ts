import { randomBytes } from "node:crypto";
import type { DerivedValue, UnusableSource } from "../core/derived-value.js";
import { ReadingsStore, type SavedReading } from "../core/readings-store.js";
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
import { staleEntityTopics } from "../homeassistant/stale-entities.js";
import type { Logger } from "../logging/logger.js";
import {
  BrokerConnection,
  type AddressSource,
  type BrokerAddress,
  type ConnectionTiming,
} from "../mqtt/broker-connection.js";
import type { Settings } from "../options/settings.js";
import { StateFile } from "../persistence/state-file.js";
import { ingestMessage } from "./message-intake.js";
import { inSlices, ReadQueue } from "./read-queue.js";
import { scheduleReads } from "./read-schedule.js";
import { UpdateScheduler } from "./update-scheduler.js";

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
  /** A monotonic clock in milliseconds: what ages and intervals are measured with. */
  readonly now?: () => number;
  /** The wall clock, for what is saved and shown; NTP may set it back. */
  readonly wallNow?: () => number;
  readonly random?: () => number;
}

/** Warnings about sources turning unusable, at most, per read; a count says how many more. */
const UNUSABLE_WARNINGS_PER_READ = 10;

/** Read once: the getter costs as much as performance.now() itself, and the clock is read for every message. */
const TIME_ORIGIN = performance.timeOrigin;

/** Milliseconds on a clock that only moves forward, anchored near the wall clock for readability. */
export function monotonicNow(): number {
  return TIME_ORIGIN + performance.now();
}

export interface RunningAddon {
  /** Saves the readings, says `offline` and disconnects. */
  stop(): Promise<void>;
  /** Reads every rule now and publishes the results (the demo and tests use it). */
  readNow(): Promise<void>;
  /** How long the add-on has been without a working broker connection; 0 while it has one. */
  offlineForMs(): number;
  readonly store: ReadingsStore;
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
  const reads = new ReadQueue();
  const stateFile = new StateFile(deps.dataDir);
  // Restored readings are published as soon as the broker is there, not at the first read time.
  let publishRestored = (await restoreReadings(stateFile, store, clock, log)) > 0;

  /** Discovery configs on the broker at start-up, while they are being collected. */
  let retainedConfigs: Set<string> | undefined;
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
        retainedConfigs.add(topic);
        lastRetainedAt = Date.now();
        return;
      }
      if (retainedStates !== undefined && payload.length > 0 && topic.startsWith(`${settings.baseTopic}/`)) {
        const key = entityKeyOfStateTopic(layout, topic);
        if (key !== undefined) retainedStates.add(key);
        lastRetainedAt = Date.now();
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
      const entities = store.entities();
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
  });

  const updates = new UpdateScheduler({
    store,
    readChanged: (held) => reads.run(() => store.beginReadChanged(now(), undefined, held)),
    rules: settings.rules,
    now,
    // A slice at a time: a read of 1,000 entities publishes 3,000 messages, which would hold up
    // the event loop for a while if handed to MQTT.js at once.
    publish: (outputs) =>
      inSlices(outputs, (slice) =>
        publisher.publishDerived(
          slice.map(({ value, pending }) => ({
            derived: value,
            // Shown in wall time: when the pending change takes effect, as a person reads it.
            pending:
              pending === undefined
                ? undefined
                : { on: pending.on, at: new Date(wallNow() + pending.at - now()) },
          })),
        ),
      ),
  });

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
    const collected = new Set<string>();
    const withState = new Set<string>();
    retainedConfigs = collected;
    retainedStates = withState;
    lastRetainedAt = Date.now();
    try {
      await connection.subscribe([configsFilter, statesFilter]);
      const started = Date.now();
      // Retained messages follow the subscription at once; stop listening when they stop coming.
      while (
        !lost.aborted &&
        Date.now() - lastRetainedAt < RETAINED_QUIET_MS &&
        Date.now() - started < RETAINED_LONGEST_MS
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
    const shown = new Set(store.shownEntityKeys());
    const hadValue = (entityKey: string) => withState.has(entityKey) || shown.has(entityKey);
    const stale = staleEntityTopics(layout, [...collected], settings.rules, hadValue);
    if (stale.length > 0) await publisher.clear(stale.flat());
    if (isAborted(lost)) return false;
    if (stale.length > 0)
      log.info(
        `Removed ${stale.length} entit${stale.length === 1 ? "y" : "ies"} whose rule no longer exists or that never had a value`,
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
        void publisher.announce(store.entities());
      },
      Math.max(0, waitMs),
    );
  }

  /** Why saves fail, while they do: said when they start failing and when they work again, not at every read. */
  let saveProblem: string | undefined;
  async function save(): Promise<void> {
    const problem = await saveReadings(stateFile, store, clock);
    if (problem !== undefined && saveProblem === undefined)
      log.warn(
        `Cannot save the readings to ${stateFile.path}: ${problem}; retrying at each read (the log says when it works again)`,
      );
    else if (problem === undefined && saveProblem !== undefined)
      log.info(`Saving the readings to ${stateFile.path} works again`);
    saveProblem = problem;
  }

  let lastSavedAt = Number.NEGATIVE_INFINITY;
  async function read(ruleKeys?: readonly string[]): Promise<void> {
    const at = now();
    const { values: derived, turnedUnusable } = await reads.run(() => store.beginRead(now(), ruleKeys));
    warnUnusable(turnedUnusable, log);
    await publisher.retire(store.takeRemovedEntities());
    await updates.show(derived, "interval");
    if (log.isLevelEnabled("debug")) {
      log.debug(`Read ${derived.length} derived value${derived.length === 1 ? "" : "s"}`);
      for (const value of derived) log.debug(`${value.identity.name}: ${describeDerived(value)}`);
    }
    // Saved at read times, but not more often than read_interval: a rule read every few seconds
    // must not rewrite the state file as often, on the SD card of a Raspberry Pi.
    if (at - lastSavedAt >= settings.readIntervalMs) {
      lastSavedAt = at;
      await save();
    }
  }

  if (settings.rules.length === 0) log.warn("No rules are configured: add some in the Configuration tab");
  const stopReads = scheduleReads(settings.rules, settings.firstReadDelayMs, read);

  return {
    store,
    readNow: () => read(),
    offlineForMs: () => connection.offlineForMs(),
    async stop() {
      stopReads();
      updates.stop();
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

function describeDerived(value: DerivedValue): string {
  const state = value.state;
  const shown = state.kind === "none" ? `unavailable (${state.reason})` : formatState(state, undefined);
  const { counts } = value;
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

/** Returns how many saved readings were taken back. */
async function restoreReadings(
  stateFile: StateFile,
  store: ReadingsStore,
  clock: Clock,
  log: Logger,
): Promise<number> {
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
  store.reserveEntityKeys(loaded.entityKeys);
  store.rememberShownEntities(loaded.shownEntities);
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
  store: ReadingsStore,
  clock: Clock,
): Promise<string | undefined> {
  const wall = clock.wallNow();
  const monotonic = clock.now();
  const readings = store
    .snapshot()
    .map((reading) => ({ ...reading, receivedAt: wall - (monotonic - reading.receivedAt) }));
  try {
    await stateFile.save(
      { readings, entityKeys: store.contestedEntityKeys(), shownEntities: store.shownEntityKeys() },
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
