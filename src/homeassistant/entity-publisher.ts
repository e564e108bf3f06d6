import type { DerivedValue } from "../core/derived-value.js";

/** A value to publish, with the change it waits to show (`delay_on`/`delay_off`), in wall time. */
export interface PublishedValue {
  readonly derived: DerivedValue;
  readonly pending?: { readonly on: boolean; readonly at: Date } | undefined;
}
import type { EntityIdentity } from "../core/entity-group.js";
import type { Rule } from "../core/rule.js";
import { discoveryConfig, stateMessages, type AddonInfo, type Message } from "./discovery-payloads.js";
import { entityTopics, type TopicLayout } from "./entity-topics.js";

export type Publish = (
  topic: string,
  payload: string,
  options: { retain: boolean; qos: 0 | 1 },
) => Promise<boolean>;

export interface EntityPublisherOptions {
  readonly layout: TopicLayout;
  readonly addon: AddonInfo;
  readonly rules: readonly Rule[];
  readonly publish: Publish;
}

/**
 * Puts derived values in front of Home Assistant: a discovery config before an entity's first
 * state, states at each read time, and everything again when the broker or Home Assistant
 * comes back. Everything is retained so Home Assistant finds it whenever it subscribes.
 */
export class EntityPublisher {
  private readonly rules: ReadonlyMap<string, Rule>;
  /** Entities whose config went out on the current connection. */
  private readonly announced = new Set<string>();
  /** The latest state messages of each entity, republished after a reconnect or a birth message. */
  private readonly latest = new Map<string, readonly Message[]>();
  /** What the broker holds for each state topic, as far as this run has published it. */
  private readonly retained = new Map<string, string>();

  constructor(private readonly options: EntityPublisherOptions) {
    this.rules = new Map(options.rules.map((rule) => [rule.key, rule]));
  }

  /** After a (re)connection or Home Assistant's birth: configs of every known entity, then their states. */
  async announce(entities: readonly EntityIdentity[]): Promise<void> {
    this.announced.clear();
    await this.send(entities.map((identity) => this.configOf(identity)));
    await this.send([...this.latest.values()].flat());
  }

  /**
   * Publishes what changed: a state, attributes or availability equal to what the broker already
   * holds (retained) is not sent again, so Home Assistant's recorder gets a row per real change.
   */
  async publishDerived(values: readonly PublishedValue[]): Promise<void> {
    const configs: Message[] = [];
    const states: Message[] = [];
    for (const { derived, pending } of values) {
      const rule = this.ruleOf(derived.identity);
      if (!this.announced.has(derived.identity.entityKey)) configs.push(this.configOf(derived.identity));
      const messages = stateMessages(this.options.layout, rule, derived, pending);
      const before = this.latest.get(derived.identity.entityKey);
      let changed = before === undefined || before.length !== messages.length;
      for (const message of messages) {
        if (this.retained.get(message.topic) === message.payload) continue;
        this.retained.set(message.topic, message.payload);
        states.push(message);
        changed = true;
      }
      // Kept as they were when nothing changed: what was kept is already old, the new copies die young.
      if (changed) this.latest.set(derived.identity.entityKey, messages);
    }
    await this.send(configs);
    await this.send(states);
  }

  /**
   * Entities the add-on no longer computes (their topics were dropped at a source limit): shown
   * as unavailable rather than frozen at their last value, and no longer republished.
   */
  async retire(entities: readonly EntityIdentity[]): Promise<void> {
    // Only what Home Assistant has seen; a retained "offline" for the rest would be litter.
    const shown = entities.filter(
      (identity) => this.latest.has(identity.entityKey) || this.announced.has(identity.entityKey),
    );
    for (const identity of shown) {
      for (const message of this.latest.get(identity.entityKey) ?? []) this.retained.delete(message.topic);
      this.latest.delete(identity.entityKey);
      this.announced.delete(identity.entityKey);
    }
    await this.send(
      shown.map((identity) => ({
        topic: entityTopics(this.options.layout, identity.entityKey).availability,
        payload: "offline",
      })),
    );
  }

  /** Clears retained topics: an empty retained config removes the entity from Home Assistant. */
  async clear(topics: readonly string[]): Promise<void> {
    await this.send(topics.map((topic) => ({ topic, payload: "" })));
  }

  private configOf(identity: EntityIdentity): Message {
    this.announced.add(identity.entityKey);
    return discoveryConfig(this.options.layout, this.options.addon, this.ruleOf(identity), identity);
  }

  /** In flight together: one broker round trip per batch rather than per message. */
  private async send(messages: readonly Message[]): Promise<void> {
    const results = await Promise.all(
      messages.map((message) =>
        this.options.publish(message.topic, message.payload, { retain: true, qos: 1 }),
      ),
    );
    // Offline: nothing went out, so the next connection must announce again.
    if (results.includes(false)) this.announced.clear();
  }

  private ruleOf(identity: EntityIdentity): Rule {
    const rule = this.rules.get(identity.ruleKey);
    if (rule === undefined)
      throw new Error(`no rule "${identity.ruleKey}" for entity "${identity.entityKey}"`);
    return rule;
  }
}
