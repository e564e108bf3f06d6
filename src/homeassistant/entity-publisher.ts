import type { DerivedValue } from "../core/derived-value.js";
import type { EntityIdentity } from "../core/entity-group.js";
import type { ConfiguredRule } from "../core/rule.js";
import {
  MIGRATE_DISCOVERY,
  componentConfig,
  deviceBlock,
  deviceConfigMessage,
  originBlock,
  stateMessagesOn,
  type AddonInfo,
  type DeviceInfoOptions,
  type Message,
} from "./discovery-payloads.js";
import { deviceOf, uniqueIdOf } from "./devices.js";
import { entityTopics, type EntityTopics, type TopicLayout } from "./entity-topics.js";
import type { DiscoveryPlan } from "./stale-entities.js";

/** A value to publish, with the change it waits to show (`delay_on`/`delay_off`), in wall time. */
export interface PublishedValue {
  readonly derived: DerivedValue;
  readonly pending?: { readonly on: boolean; readonly at: Date } | undefined;
}

export type Publish = (
  topic: string,
  payload: string,
  options: { retain: boolean; qos: 0 | 1; expiresAfterS?: number | undefined },
) => Promise<boolean>;

export interface EntityPublisherOptions {
  readonly layout: TopicLayout;
  readonly addon: AddonInfo;
  readonly rules: readonly ConfiguredRule[];
  readonly publish: Publish;
  /** Whether the connection makes retained messages expire (MQTT 5): then unchanged states are renewed. */
  readonly expiresMessages?: () => boolean;
  /** The monotonic clock, in milliseconds. */
  readonly now?: () => number;
  readonly device?: DeviceInfoOptions;
}

/** What the broker holds for a topic, as far as this run has published it, and since when. */
interface Retained {
  // Updated in place: most state topics change at every read, and a new object per change is garbage.
  payload: string;
  sentAt: number;
}

/** An entity in a device config: computed by this run, or carried over from the config found at start. */
type Component =
  | { readonly kind: "entity"; readonly identity: EntityIdentity }
  | { readonly kind: "carried"; readonly config: Readonly<Record<string, unknown>> };

interface DeviceState {
  dev: Readonly<Record<string, unknown>>;
  readonly components: Map<string, Component>;
  /** The config last sent on the current connection; undefined: to be sent. */
  sent: string | undefined;
}

/**
 * Puts derived values in front of Home Assistant: one discovery config per device (device-based
 * discovery) holding every entity of that device, before an entity's first state; states at each
 * read time; and everything again when the broker or Home Assistant comes back. Everything is
 * retained so Home Assistant finds it whenever it subscribes.
 *
 * An entity stays in its device's config for the rest of the run once it is there: a device
 * config without it would make Home Assistant remove it, and its history with it.
 */
export class EntityPublisher {
  private readonly rules: ReadonlyMap<string, ConfiguredRule>;
  private readonly devices = new Map<string, DeviceState>();
  /** The device each entity is in. */
  private readonly deviceOfEntity = new Map<string, string>();
  /** The latest state messages of each entity, republished after a reconnect or a birth message. */
  private readonly latest = new Map<string, readonly Message[]>();
  /** What the broker holds for each state topic, as far as this run has published it. */
  private readonly retained = new Map<string, Retained>();
  private readonly uniqueIds = new Map<string, string>();
  /**
   * Each entity's topics, built once: the same strings at every read, so that looking them up in
   * `retained` does not hash a new string per message.
   */
  private readonly topics = new Map<string, EntityTopics>();
  /** 0.1.0's per-entity configs still on the broker, by entity key: migrated with their device. */
  private readonly legacy = new Map<string, string>();
  private readonly now: () => number;
  private readonly origin: Record<string, unknown>;
  /**
   * No device config goes out before the first announcement: until then what the broker holds
   * (0.1.0's configs to migrate, unique ids to keep) may not be known, and a read meanwhile must
   * not publish a device config ahead of its migration.
   */
  private announcedOnce = false;

  constructor(private readonly options: EntityPublisherOptions) {
    this.rules = new Map(options.rules.map((rule) => [rule.key, rule]));
    this.now = options.now ?? (() => performance.now());
    this.origin = originBlock(options.addon);
  }

  /** Takes over what the broker held at start: unique ids, entities to carry, 0.1.0's configs to migrate. */
  adopt(plan: DiscoveryPlan): void {
    for (const [key, uniqueId] of plan.uniqueIds) this.uniqueIds.set(key, uniqueId);
    for (const [key, topic] of plan.legacy) this.legacy.set(key, topic);
    for (const [deviceId, carried] of plan.carried) {
      const device = this.deviceState(deviceId, carried.dev);
      for (const [key, config] of carried.components) {
        if (this.deviceOfEntity.has(key)) continue;
        device.components.set(key, { kind: "carried", config });
        this.deviceOfEntity.set(key, deviceId);
      }
    }
  }

  /** After a (re)connection or Home Assistant's birth: every device's config, then every state. */
  async announce(entities: readonly EntityIdentity[]): Promise<void> {
    this.announcedOnce = true;
    for (const device of this.devices.values()) device.sent = undefined;
    for (const identity of entities) this.place(identity);
    await this.sendDevices([...this.devices.keys()]);
    const states = [...this.latest.values()].flat();
    const now = this.now();
    for (const message of states) this.hold(message, this.retained.get(message.topic), now);
    await this.send(states);
  }

  /**
   * Publishes what changed: a state, attributes or availability equal to what the broker already
   * holds (retained) is not sent again, so Home Assistant's recorder gets a row per real change;
   * unless it expires, and half its life is over: then it is renewed. An entity new to its device
   * sends the device's config first.
   */
  async publishDerived(values: readonly PublishedValue[]): Promise<void> {
    const states: Message[] = [];
    const now = this.now();
    const expiring = this.options.expiresMessages?.() ?? false;
    const changedDevices = new Set<string>();
    for (const { derived, pending } of values) {
      const rule = this.ruleOf(derived.identity);
      for (const deviceId of this.place(derived.identity)) changedDevices.add(deviceId);
      const messages = stateMessagesOn(this.topicsOf(derived.identity.entityKey), rule, derived, pending);
      const before = this.latest.get(derived.identity.entityKey);
      let changed = before === undefined || before.length !== messages.length;
      for (const message of messages) {
        const held = this.retained.get(message.topic);
        if (held?.payload === message.payload && !(expiring && dueForRenewal(message, held, now))) continue;
        this.hold(message, held, now);
        states.push(message);
        changed = true;
      }
      // Kept as they were when nothing changed: what was kept is already old, the new copies die young.
      if (changed) this.latest.set(derived.identity.entityKey, messages);
    }
    await this.sendDevices([...changedDevices]);
    await this.send(states);
  }

  /**
   * Puts new entities into their devices' configs, each changed device's config sent once: called
   * before a read's values go out a slice at a time, so that a first read of 1,000 entities does
   * not send a device's growing config again with every slice.
   */
  async introduce(identities: readonly EntityIdentity[]): Promise<void> {
    const changedDevices = new Set<string>();
    for (const identity of identities)
      for (const deviceId of this.place(identity)) changedDevices.add(deviceId);
    await this.sendDevices([...changedDevices]);
  }

  /**
   * Renews the states and attributes whose expiry is half over, whether or not their entity was
   * computed again: a read leaves out entities whose inputs did not change, and their retained
   * state must outlive a quiet spell all the same.
   */
  async renewDue(): Promise<void> {
    if (!(this.options.expiresMessages?.() ?? false)) return;
    const now = this.now();
    const due: Message[] = [];
    for (const messages of this.latest.values())
      for (const message of messages) {
        const held = this.retained.get(message.topic);
        if (held === undefined || held.payload !== message.payload || !dueForRenewal(message, held, now))
          continue;
        this.hold(message, held, now);
        due.push(message);
      }
    await this.send(due);
  }

  /**
   * Entities the add-on no longer computes (their topics were dropped at a source limit): shown
   * as unavailable rather than frozen at their last value, and no longer republished. They stay
   * in their device's config, so that Home Assistant keeps them (and their history).
   */
  async retire(entities: readonly EntityIdentity[]): Promise<void> {
    // Only what Home Assistant has seen; a retained "offline" for the rest would be litter.
    const shown = entities.filter((identity) => this.latest.has(identity.entityKey));
    for (const identity of shown) {
      for (const message of this.latest.get(identity.entityKey) ?? []) this.retained.delete(message.topic);
      this.latest.delete(identity.entityKey);
    }
    const offline = shown.map((identity) => ({
      topic: this.topicsOf(identity.entityKey).availability,
      payload: "offline",
    }));
    // Entities come and go with their values (a BLE phone's MAC): their topics are not kept.
    for (const identity of entities) this.topics.delete(identity.entityKey);
    await this.send(offline);
  }

  /** Clears retained topics: an empty retained config removes the entity from Home Assistant. */
  async clear(topics: readonly string[]): Promise<void> {
    await this.send(topics.map((topic) => ({ topic, payload: "" })));
  }

  /** Notes what the broker is to hold for the message's topic; `held` is what it held before. */
  private hold(message: Message, held: Retained | undefined, now: number): void {
    if (held === undefined) this.retained.set(message.topic, { payload: message.payload, sentAt: now });
    else {
      held.payload = message.payload;
      held.sentAt = now;
    }
  }

  private topicsOf(entityKey: string): EntityTopics {
    let topics = this.topics.get(entityKey);
    if (topics === undefined) {
      topics = entityTopics(this.options.layout, entityKey);
      this.topics.set(entityKey, topics);
    }
    return topics;
  }

  /** Puts the entity in its device; returns the devices whose config changed (two when it moved). */
  private place(identity: EntityIdentity): readonly string[] {
    const key = identity.entityKey;
    const before = this.deviceOfEntity.get(key);
    // At every read for every entity: a known entity costs two lookups and nothing more.
    if (before !== undefined) {
      const known = this.devices.get(before)?.components.get(key);
      if (known?.kind === "entity" && known.identity.deviceName === identity.deviceName) return UNCHANGED;
    }
    const device = deviceOf(this.options.layout, identity);
    const state = this.deviceState(device.id, deviceBlock(device, this.options.addon, this.options.device));
    const known = state.components.get(key);
    if (before === device.id && known?.kind === "entity") return UNCHANGED;
    // The device's own block, as this run computes it, replaces a carried one.
    if (known === undefined || known.kind === "carried")
      state.dev = deviceBlock(device, this.options.addon, this.options.device);
    state.components.set(key, { kind: "entity", identity });
    state.sent = undefined;
    this.deviceOfEntity.set(key, device.id);
    if (before === undefined || before === device.id) return [device.id];
    // Moved (the rule names another device now): the old device's config loses it first.
    const old = this.devices.get(before);
    old?.components.delete(key);
    if (old !== undefined) old.sent = undefined;
    return [before, device.id];
  }

  private deviceState(deviceId: string, dev: Readonly<Record<string, unknown>>): DeviceState {
    let state = this.devices.get(deviceId);
    if (state === undefined) {
      state = { dev, components: new Map(), sent: undefined };
      this.devices.set(deviceId, state);
    }
    return state;
  }

  /**
   * Sends the configs of these devices that changed since last sent. 0.1.0's per-entity configs
   * of their entities are migrated around them: `migrate_discovery` on each old topic, then the
   * device configs with the same unique ids, then the old topics cleared, so that Home Assistant
   * keeps the entities, their ids and history.
   */
  private async sendDevices(deviceIds: readonly string[]): Promise<void> {
    if (!this.announcedOnce) return;
    const messages: Message[] = [];
    const migrating: string[] = [];
    for (const deviceId of deviceIds) {
      const state = this.devices.get(deviceId);
      if (state === undefined) continue;
      const message = this.deviceMessage(deviceId, state);
      if (state.sent === message.payload) continue;
      messages.push(message);
      for (const key of state.components.keys()) {
        const topic = this.legacy.get(key);
        if (topic !== undefined) migrating.push(topic);
      }
    }
    if (messages.length === 0) return;
    const sent =
      (await this.send(migrating.map((topic) => ({ topic, payload: MIGRATE_DISCOVERY })))) &&
      (await this.send(messages)) &&
      (await this.send(migrating.map((topic) => ({ topic, payload: "" }))));
    // Offline: nothing is known to have gone out, so the next connection sends it all again.
    if (!sent) return;
    for (const message of messages) {
      const deviceId = message.topic.split("/").at(-2) ?? "";
      const state = this.devices.get(deviceId);
      if (state !== undefined) state.sent = message.payload;
    }
    const migrated = new Set(migrating);
    for (const [key, topic] of this.legacy) if (migrated.has(topic)) this.legacy.delete(key);
  }

  private deviceMessage(deviceId: string, state: DeviceState): Message {
    const components = new Map<string, Record<string, unknown>>();
    for (const [key, component] of state.components) {
      components.set(
        key,
        component.kind === "carried"
          ? { ...component.config }
          : componentConfig(
              this.options.layout,
              this.ruleOf(component.identity),
              component.identity,
              this.uniqueIdOf(key),
            ),
      );
    }
    return deviceConfigMessage(this.options.layout, deviceId, state.dev, this.origin, components);
  }

  private uniqueIdOf(entityKey: string): string {
    return this.uniqueIds.get(entityKey) ?? uniqueIdOf(this.options.layout, entityKey);
  }

  /** In flight together: one broker round trip per batch rather than per message. Whether all went out. */
  private async send(messages: readonly Message[]): Promise<boolean> {
    const results = await Promise.all(
      messages.map((message) =>
        this.options.publish(message.topic, message.payload, {
          retain: true,
          qos: 1,
          expiresAfterS: message.expiresAfterS,
        }),
      ),
    );
    return !results.includes(false);
  }

  private ruleOf(identity: EntityIdentity): ConfiguredRule {
    const rule = this.rules.get(identity.ruleKey);
    if (rule === undefined)
      throw new Error(`no rule "${identity.ruleKey}" for entity "${identity.entityKey}"`);
    return rule;
  }
}

/** No device changed: shared, as most entities at most reads are in their device already. */
const UNCHANGED: readonly string[] = Object.freeze([]);

/** An expiring message whose first half of life is over: renewed before the broker forgets it. */
function dueForRenewal(message: Message, held: Retained, now: number): boolean {
  return message.expiresAfterS !== undefined && now - held.sentAt >= (message.expiresAfterS * 1000) / 2;
}
