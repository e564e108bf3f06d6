import { randomBytes } from "node:crypto";
import type { DerivedValue, UnusableSource } from "../core/derived-value.js";
import { ReadingsStore } from "../core/readings-store.js";
import type { Rule } from "../core/rule.js";
import { formatState, type AddonInfo } from "../homeassistant/discovery-payloads.js";
import { EntityPublisher } from "../homeassistant/entity-publisher.js";
import {
  homeAssistantStatusTopic,
  ownConfigsFilter,
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
import { scheduleReads } from "./read-schedule.js";

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
  readonly now?: () => number;
  readonly random?: () => number;
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
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  // Checked once: the level is fixed for the run, and the message path should not ask per message.
  const tracing = log.isLevelEnabled("trace");
  const layout: TopicLayout = { discoveryPrefix: settings.discoveryPrefix, baseTopic: settings.baseTopic };
  const birthTopic = homeAssistantStatusTopic(layout);
  const configsFilter = ownConfigsFilter(layout);

  const store = new ReadingsStore(settings.rules, {
    ignoredPrefixes: [`${settings.baseTopic}/`, `${settings.discoveryPrefix}/`],
    onSourceLimit: (rule, topic) =>
      log.warn(
        `Rule "${rule.nameTemplate}" matches more than ${rule.maxSources} topics (max_sources); the least recently updated are dropped, starting with ${topic}`,
      ),
  });
  const stateFile = new StateFile(deps.dataDir);
  // Restored readings are published as soon as the broker is there, not at the first read time.
  let publishRestored = (await restoreReadings(stateFile, store, now(), log)) > 0;

  /** Discovery configs on the broker at start-up, while they are being collected. */
  let retainedConfigs: Set<string> | undefined;
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
      // For "why is my sensor not counted?": every message, at trace level only.
      if (tracing) log.trace(`Received ${topic} (${payload.length} bytes)`);
      ingestMessage(store, topic, payload, now());
    },
    onConnected: async (lost) => {
      const filters = subscriptionsOf(settings.rules);
      await connection.subscribe([birthTopic, ...filters]);
      log.info(`Listening to ${filters.length} topic filter${filters.length === 1 ? "" : "s"}`);
      await removeStaleEntitiesOnce(lost);
      await publisher.announce(store.entities());
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
    retainedConfigs = collected;
    lastRetainedAt = Date.now();
    try {
      await connection.subscribe([configsFilter]);
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
    }
    // A lost connection may have cut the retained configs short: deciding now could miss some.
    if (lost.aborted) return false;
    await connection.unsubscribe([configsFilter]);
    const stale = staleEntityTopics(layout, [...collected], settings.rules);
    if (stale.length > 0) await publisher.clear(stale.flat());
    if (isAborted(lost)) return false;
    if (stale.length > 0)
      log.info(
        `Removed ${stale.length} entit${stale.length === 1 ? "y" : "ies"} whose rule no longer exists`,
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

  const warnUnusable = ({ identity, source, why }: UnusableSource) =>
    log.warn(`"${identity.name}" ignores ${source}: ${why}`);

  let lastSavedAt = Number.NEGATIVE_INFINITY;
  async function read(ruleKeys?: readonly string[]): Promise<void> {
    const at = now();
    const derived = store.read(at, warnUnusable, ruleKeys);
    await publisher.retire(store.takeRemovedEntities());
    await publisher.publishDerived(derived, new Date(at));
    if (log.isLevelEnabled("debug")) {
      log.debug(`Read ${derived.length} derived value${derived.length === 1 ? "" : "s"}`);
      for (const value of derived) log.debug(`${value.identity.name}: ${describeDerived(value)}`);
    }
    // Saved at read times, but not more often than read_interval: a rule read every few seconds
    // must not rewrite the state file as often, on the SD card of a Raspberry Pi.
    if (at - lastSavedAt >= settings.readIntervalMs) {
      lastSavedAt = at;
      await saveReadings(stateFile, store, at, log);
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
      clearTimeout(birthTimer);
      await saveReadings(stateFile, store, now(), log);
      await connection.stop();
    },
  };
}

function describeDerived(value: DerivedValue): string {
  const state = value.state;
  const shown = state.kind === "none" ? `unavailable (${state.reason})` : formatState(state, undefined);
  return `${shown} from ${value.freshCount} fresh, ${value.staleCount} stale, ${value.unusableCount} unusable`;
}

/** Each distinct subscription once; named wildcards are plain `+` on the wire. */
export function subscriptionsOf(rules: readonly Rule[]): string[] {
  return [...new Set(rules.flatMap((rule) => rule.filters.map((filter) => filter.subscription)))];
}

/** Returns how many saved readings were taken back. */
async function restoreReadings(
  stateFile: StateFile,
  store: ReadingsStore,
  at: number,
  log: Logger,
): Promise<number> {
  const loaded = await stateFile.load();
  if (loaded.kind === "missing") return 0;
  if (loaded.kind === "unreadable") {
    log.warn(`Ignoring the saved readings in ${stateFile.path}: ${loaded.why}`);
    return 0;
  }
  store.reserveEntityKeys(loaded.entityKeys);
  const restored = store.restore(loaded.readings, at);
  log.info(
    `Restored ${restored} of ${loaded.readings.length} saved readings (the others are too old or no longer match a rule)`,
  );
  return restored;
}

async function saveReadings(
  stateFile: StateFile,
  store: ReadingsStore,
  at: number,
  log: Logger,
): Promise<void> {
  try {
    await stateFile.save({ readings: store.snapshot(), entityKeys: store.contestedEntityKeys() }, at);
  } catch (error) {
    log.warn(
      `Cannot save the readings to ${stateFile.path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Read through a call: the connection can drop while something is awaited. */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
