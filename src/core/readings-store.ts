import { LISTED_SOURCES } from "./derived-value.js";
import { AVAILABILITY_LEVELS, availabilityTopicOf } from "./device-availability.js";
import { EntityGroup, identify, type EntityIdentity } from "./entity-group.js";
import { groupSlug, ruleKeyOfEntity } from "./entity-naming.js";
import { ReadPass, type ReadJob, type ReadResult } from "./read-pass.js";
import { fansOut, type Rule } from "./rule.js";
import { AvailabilityTopic, Memberships, SourceTopic } from "./source-topic.js";
import { TopicMatcher } from "./topic-matcher.js";

/** Device availability topics kept at most: a `#` over a broker full of `…/status` topics stays bounded. */
export const MAX_AVAILABILITY_TOPICS = 10_000;
/** Topics that feed no rule (excluded ones) remembered at most, so that they skip the matcher. */
const MAX_IGNORED_TOPICS = 10_000;

export type { ReadJob, ReadResult } from "./read-pass.js";

/** A fanned-out entity's key, saved where arrival order decided it. */
export interface SavedEntityKey {
  readonly rule: string;
  readonly captures: readonly string[];
  readonly entityKey: string;
}

/** A reading as saved across restarts: the raw payload, so a changed rule can read it anew. */
export interface SavedReading {
  readonly topic: string;
  readonly payload: string;
  readonly receivedAt: number;
}

export interface ReadingsStoreOptions {
  /** Topics under these prefixes are the add-on's own output and never count as inputs. */
  readonly ignoredPrefixes?: readonly string[];
  /** Called once per rule, the first time its source limit makes it drop a topic. */
  readonly onSourceLimit?: (rule: Rule, droppedTopic: string) => void;
}

interface RuleState {
  readonly rule: Rule;
  readonly groups: Map<string, EntityGroup>;
  readonly entityKeys: Set<string>;
  /** Keys that values slugging alike had in an earlier run, by group key, and their owners. */
  readonly reservedKeys: Map<string, string>;
  readonly reservedOwners: Set<string>;
  sourceCount: number;
  limitReported: boolean;
}

interface FilterTarget {
  readonly state: RuleState;
  /** Maps the filter's capture order onto the rule's. */
  readonly order: readonly number[];
}

/**
 * The latest payload of every topic the rules match, and the entity groups they feed.
 * The message path (`ingest`) is a map lookup and three assignments for a topic seen before;
 * everything else waits for a read time.
 */
export class ReadingsStore {
  private readonly states = new Map<string, RuleState>();
  private readonly matcher = new TopicMatcher<FilterTarget>();
  private readonly exclusions = new TopicMatcher<RuleState>();
  private readonly topics = new Map<string, SourceTopic>();
  private readonly memberships = new Memberships();
  /** Topics where devices say whether they are online, by topic; also in `topics`. */
  private readonly availability = new Map<string, AvailabilityTopic>();
  /** Bumped when an availability topic appears, so sources look for their device again. */
  private availabilityGeneration = 0;
  private readonly ignored = new Set<string>();
  private arrivals = 0;
  /** The read under way, if any: reads are one at a time. */
  private reading: ReadPass | undefined;
  /** Entity keys shown in an earlier run: their groups are revealed as soon as they exist. */
  private readonly shownBefore = new Set<string>();
  private removedEntities: EntityIdentity[] = [];
  /** Groups of `update: change` rules whose inputs changed since they were last computed. */
  private changedGroups: EntityGroup[] = [];
  private readonly groupsByEntityKey = new Map<string, EntityGroup>();
  private readonly ignoredPrefixes: readonly string[];
  private readonly onSourceLimit: (rule: Rule, droppedTopic: string) => void;

  constructor(rules: readonly Rule[], options: ReadingsStoreOptions = {}) {
    this.ignoredPrefixes = options.ignoredPrefixes ?? [];
    this.onSourceLimit = options.onSourceLimit ?? (() => undefined);
    for (const rule of rules) {
      if (this.states.has(rule.key)) throw new Error(`two rules share the key "${rule.key}"`);
      const state: RuleState = {
        rule,
        groups: new Map(),
        entityKeys: new Set(),
        reservedKeys: new Map(),
        reservedOwners: new Set(),
        sourceCount: 0,
        limitReported: false,
      };
      this.states.set(rule.key, state);
      for (const filter of rule.filters) {
        const order = filter.captureNames.map((name) => rule.captureNames.indexOf(name));
        this.matcher.add(filter, { state, order });
      }
      for (const exclusion of rule.exclusions) this.exclusions.add(exclusion, state);
      // A rule without named wildcards is one entity, known before any reading arrives.
      if (!fansOut(rule)) this.groupOf(state, []);
    }
  }

  /** The hot path: remember the latest payload of `topic`. `now` is a monotonic clock's. */
  ingest(topic: string, payload: string, now: number): void {
    const source = this.sourceOf(topic, now);
    if (source === undefined) return;
    source.payload = payload;
    source.receivedAt = now;
    source.arrival = ++this.arrivals;
    const marked = source.membership.changeGroups;
    if (marked !== null) this.markChanged(marked);
    if (source instanceof AvailabilityTopic && source.dependents !== null)
      this.markDependents(source.dependents);
  }

  /** Whether some `update: change` entity waits to be recomputed (readChanged). */
  get hasChanges(): boolean {
    return this.changedGroups.length > 0;
  }

  /** Marks an entity for recomputing at the next readChanged, as if its inputs had changed. */
  markEntityChanged(entityKey: string): void {
    const group = this.groupsByEntityKey.get(entityKey);
    if (group !== undefined) this.markChanged([group]);
  }

  /**
   * Derived values of the `update: change` entities whose inputs changed since they were computed.
   * Those `held` says are held back (by `min_interval`) are not computed, and no longer marked: the
   * caller computes them again when it may show them (markEntityChanged).
   */
  readChanged(
    now: number,
    listLimit = LISTED_SOURCES,
    held: (identity: EntityIdentity) => boolean = () => false,
  ): ReadResult {
    return completed(this.beginReadChanged(now, listLimit, held));
  }

  /** readChanged, a slice at a time (see ReadJob). */
  beginReadChanged(
    now: number,
    listLimit = LISTED_SOURCES,
    held: (identity: EntityIdentity) => boolean = () => false,
  ): ReadJob {
    const groups = this.changedGroups;
    this.changedGroups = [];
    for (const group of groups) group.changed = false;
    return this.beginPass(
      groups.filter((group) => !held(group.identity)),
      now,
      listLimit,
    );
  }

  private markChanged(groups: readonly EntityGroup[]): void {
    for (const group of groups) {
      if (group.changed) continue;
      group.changed = true;
      this.changedGroups.push(group);
    }
  }

  private markDependents(dependents: readonly SourceTopic[]): void {
    for (const dependent of dependents) {
      const marked = dependent.membership.changeGroups;
      if (marked !== null) this.markChanged(marked);
    }
  }

  /** A payload too large to keep: remembered only as unusable, so it cannot pin memory. */
  ingestOversized(topic: string, bytes: number, now: number): void {
    const source = this.sourceOf(topic, now);
    if (source === undefined) return;
    source.payload = { bytes };
    source.receivedAt = now;
    source.arrival = ++this.arrivals;
  }

  /**
   * Derived values of the given rules (all by default) at time `now`; releases payloads gone stale.
   * Fanned-out entities that never had a usable reading are left out: they do not exist yet.
   */
  read(now: number, ruleKeys?: readonly string[], listLimit = LISTED_SOURCES): ReadResult {
    return completed(this.beginRead(now, ruleKeys, listLimit));
  }

  /**
   * read, a slice at a time (see ReadJob): the caller lets other work run between slices. Messages
   * that arrive meanwhile are taken as they come; one read at a time.
   */
  beginRead(now: number, ruleKeys?: readonly string[], listLimit = LISTED_SOURCES): ReadJob {
    const states = this.selectStates(ruleKeys);
    const groups: EntityGroup[] = [];
    for (const state of states) for (const group of state.groups.values()) groups.push(group);
    return this.beginPass(groups, now, listLimit, states.size === this.states.size);
  }

  private beginPass(
    groups: readonly EntityGroup[],
    now: number,
    listLimit: number,
    everyGroup = false,
  ): ReadJob {
    // Two passes at a time would share the groups' tallies: a bug in the caller.
    if (this.reading !== undefined) throw new Error("a read is under way; reads are one at a time");
    const sources = everyGroup ? this.topics.values() : undefined;
    const pass = new ReadPass(groups, sources, now, listLimit, {
      shows: (group, tally) => {
        if (tally.inputs > 0) group.revealed = true;
        return this.exists(group);
      },
      deviceOf: (source) => this.deviceOf(source),
      ended: () => {
        if (this.reading === pass) this.reading = undefined;
      },
    });
    this.reading = pass;
    return pass;
  }

  /** Ends the read under way without its result, if one is (the app stopping halfway through). */
  abandonRead(): void {
    this.reading?.abandon();
  }

  /** Every entity known now: each plain rule, and each fanned-out value that has had a usable reading. */
  entities(): EntityIdentity[] {
    return [...this.states.values()].flatMap((state) =>
      [...state.groups.values()].filter((group) => this.exists(group)).map((group) => group.identity),
    );
  }

  /** Keys of fanned-out entities that exist, to be saved so that a restart does not hide them. */
  shownEntityKeys(): string[] {
    const keys = new Set<string>();
    for (const key of this.shownBefore) if (this.states.has(ruleKeyOfEntity(key))) keys.add(key);
    for (const state of this.states.values()) {
      if (!fansOut(state.rule)) continue;
      for (const group of state.groups.values()) if (group.revealed) keys.add(group.identity.entityKey);
    }
    return [...keys];
  }

  /** Takes back the keys saved by shownEntityKeys; call before any reading arrives. */
  rememberShownEntities(entityKeys: readonly string[]): void {
    for (const key of entityKeys) this.shownBefore.add(key);
  }

  private exists(group: EntityGroup): boolean {
    if (!group.revealed && this.shownBefore.has(group.identity.entityKey)) group.revealed = true;
    return group.revealed || !fansOut(group.rule);
  }

  /** The source's device availability topic, looked up again only when new ones have appeared. */
  private deviceOf(source: SourceTopic): AvailabilityTopic | null {
    if (source.deviceGeneration === this.availabilityGeneration) return source.device;
    source.deviceGeneration = this.availabilityGeneration;
    const previous = source.device;
    source.device = null;
    // A rule's own pattern wins over the conventions; a topic has one device whichever rule reads it.
    const settings = source.groups.map((group) => group.rule.availability);
    const setting =
      settings.find((each) => each.kind === "pattern") ?? settings.find((each) => each.kind === "auto");
    if (setting === undefined || this.availability.size === 0) return null;
    const topic = availabilityTopicOf(source.topic, setting);
    const device = topic === undefined ? undefined : this.availability.get(topic);
    if (device !== undefined && device !== source) source.device = device;
    if (previous !== source.device) {
      previous?.removeDependent(source);
      source.device?.addDependent(source);
    }
    return source.device;
  }

  /**
   * Fanned-out entities dropped with their last topic at a source limit since the last call, so
   * the caller can tell Home Assistant they are gone rather than leave their last value showing.
   */
  takeRemovedEntities(): EntityIdentity[] {
    if (this.removedEntities.length === 0) return [];
    const present = new Set(this.entities().map((identity) => identity.entityKey));
    const removed = this.removedEntities.filter((identity) => !present.has(identity.entityKey));
    this.removedEntities = [];
    return removed;
  }

  get trackedTopicCount(): number {
    return this.topics.size;
  }

  sourceCountOf(ruleKey: string): number {
    return this.states.get(ruleKey)?.sourceCount ?? 0;
  }

  snapshot(): SavedReading[] {
    const saved: SavedReading[] = [];
    for (const source of this.topics.values()) {
      if (typeof source.payload === "string") {
        saved.push({ topic: source.topic, payload: source.payload, receivedAt: source.receivedAt });
      }
    }
    return saved;
  }

  /**
   * Entity keys of fanned-out values whose slugs collide with another value's, to be saved:
   * which of them got the plain key depended on arrival order, and must survive a restart.
   */
  contestedEntityKeys(): SavedEntityKey[] {
    const saved: SavedEntityKey[] = [];
    for (const state of this.states.values()) {
      const bySlug = new Map<string, EntityGroup[]>();
      for (const group of state.groups.values()) {
        const slug = groupSlug(captureList(state.rule, group));
        bySlug.set(slug, [...(bySlug.get(slug) ?? []), group]);
      }
      for (const groups of bySlug.values()) {
        if (groups.length < 2) continue;
        for (const group of groups) {
          saved.push({
            rule: state.rule.key,
            captures: captureList(state.rule, group),
            entityKey: group.identity.entityKey,
          });
        }
      }
    }
    return saved;
  }

  /** Takes back keys saved by contestedEntityKeys; call before any reading arrives. */
  reserveEntityKeys(saved: readonly SavedEntityKey[]): void {
    for (const { rule, captures, entityKey } of saved) {
      const state = this.states.get(rule);
      if (state === undefined || captures.length !== state.rule.captureNames.length) continue;
      state.reservedKeys.set(captures.join("/"), entityKey);
      state.reservedOwners.add(entityKey);
    }
  }

  /** Takes back saved readings still fresh for some rule; returns how many were taken. */
  restore(saved: readonly SavedReading[], now: number): number {
    let restored = 0;
    for (const reading of saved) {
      if (reading.receivedAt > now) continue;
      const known = this.topics.get(reading.topic);
      if (known !== undefined && known.arrival > 0) continue;
      const availability = isAvailabilityTopic(reading.topic);
      // Too old for every rule: admitting it would only create an entity or take a source slot.
      if (
        known === undefined &&
        !availability &&
        now - reading.receivedAt > this.longestMaxAgeOf(reading.topic)
      )
        continue;
      const source = known ?? this.admit(reading.topic, reading.receivedAt);
      if (source === undefined) continue;
      // A device's last word on its availability holds however old it is, until it says otherwise.
      if (!this.availability.has(reading.topic) && now - reading.receivedAt > source.membership.keepForMs)
        continue;
      source.payload = reading.payload;
      source.receivedAt = reading.receivedAt;
      source.arrival = ++this.arrivals;
      restored += 1;
    }
    return restored;
  }

  private longestMaxAgeOf(topic: string): number {
    let longest = Number.NEGATIVE_INFINITY;
    for (const { target } of this.matcher.match(topic)) {
      longest = Math.max(longest, target.state.rule.maxAgeMs);
    }
    return longest;
  }

  /** The states of these rules (of all by default), each once. */
  private selectStates(ruleKeys: readonly string[] | undefined): Set<RuleState> {
    if (ruleKeys === undefined) return new Set(this.states.values());
    const selected = new Set<RuleState>();
    for (const key of ruleKeys) {
      const state = this.states.get(key);
      if (state !== undefined) selected.add(state);
    }
    return selected;
  }

  private sourceOf(topic: string, now: number): SourceTopic | undefined {
    const source = this.topics.get(topic);
    if (source === undefined) return this.ignored.has(topic) ? undefined : this.admit(topic, now);
    // Dropped by a rule at its source limit while another rule kept it: the dropping rule takes
    // it back now that it is the most recently updated.
    if (source.partial) this.attach(source, now);
    return source;
  }

  /** First sight of a topic: find the groups it feeds, making room under each rule's source limit. */
  private admit(topic: string, now: number): SourceTopic | undefined {
    for (const prefix of this.ignoredPrefixes) if (topic.startsWith(prefix)) return undefined;
    const availability = isAvailabilityTopic(topic) && this.availability.size < MAX_AVAILABILITY_TOPICS;
    const source = availability
      ? new AvailabilityTopic(topic, this.memberships.none)
      : new SourceTopic(topic, this.memberships.none);
    this.attach(source, now);
    if (source instanceof AvailabilityTopic) {
      this.availability.set(topic, source);
      this.availabilityGeneration += 1;
      // Which sources it speaks for is found at their next computation: recompute every change-driven one.
      for (const state of this.states.values())
        if (state.rule.update === "change") this.markChanged([...state.groups.values()]);
    } else if (source.groups.length === 0) {
      if (this.ignored.size < MAX_IGNORED_TOPICS) this.ignored.add(topic);
      return undefined;
    }
    this.topics.set(topic, source);
    return source;
  }

  private attach(source: SourceTopic, now: number): void {
    // Newest from now on, so that making room never drops the topic being attached.
    source.receivedAt = now;
    source.partial = false;
    const availability = isAvailabilityTopic(source.topic);
    let excluded: Set<RuleState> | undefined;
    if (this.exclusions.size > 0)
      for (const { target } of this.exclusions.match(source.topic)) (excluded ??= new Set()).add(target);
    for (const { target, captures, literalLast } of this.matcher.match(source.topic)) {
      if (excluded?.has(target.state) === true) continue;
      // `zigbee2mqtt/#` does not read `<device>/availability` as a value; `tele/+/LWT` does.
      if (availability && !literalLast) continue;
      const group = this.groupOf(
        target.state,
        target.order.length === 0 ? [] : reorder(captures, target.order),
      );
      if (source.membership.groups.includes(group)) continue;
      if (target.state.sourceCount >= target.state.rule.maxSources) this.dropLeastRecent(target.state);
      group.sources.push(source);
      source.membership = source.membership.with(group);
      target.state.sourceCount += 1;
    }
  }

  private groupOf(state: RuleState, captures: readonly string[]): EntityGroup {
    const key = captures.join("/");
    let group = state.groups.get(key);
    if (group === undefined) {
      const reservedKey = state.reservedKeys.get(key);
      const isTaken = (entityKey: string) =>
        state.entityKeys.has(entityKey) || state.reservedOwners.has(entityKey);
      const identity = identify(state.rule, captures, isTaken, reservedKey);
      state.entityKeys.add(identity.entityKey);
      group = new EntityGroup(state.rule, key, identity);
      state.groups.set(key, group);
      this.groupsByEntityKey.set(identity.entityKey, group);
    }
    return group;
  }

  /**
   * Makes room under a rule's source limit by dropping its least recently updated topics: a
   * tenth of the limit at once, so that a wildcard matching ever more topics pays for one scan
   * per many new topics rather than one per message.
   */
  private dropLeastRecent(state: RuleState): void {
    const tracked: { group: EntityGroup; source: SourceTopic }[] = [];
    for (const group of state.groups.values()) {
      for (const source of group.sources) tracked.push({ group, source });
    }
    tracked.sort((a, b) => a.source.receivedAt - b.source.receivedAt);
    const count = Math.max(1, Math.floor(state.rule.maxSources / 10));
    const dropped = new Map<EntityGroup, Set<SourceTopic>>();
    const gone = new Set<EntityGroup>();
    for (const { group, source } of tracked.slice(0, count)) {
      let leaving = dropped.get(group);
      if (leaving === undefined) dropped.set(group, (leaving = new Set()));
      leaving.add(source);
      source.membership = this.memberships.without(source.membership, group);
      state.sourceCount -= 1;
      if (leaving.size === group.sources.length && fansOut(state.rule)) {
        state.groups.delete(group.key);
        this.groupsByEntityKey.delete(group.identity.entityKey);
        group.removed = true;
        gone.add(group);
        // Free the key, so the entity gets the same key back if its value returns.
        state.entityKeys.delete(group.identity.entityKey);
        // Only entities a read has shown: an explosion of new values between reads stays unremembered.
        if (group.read) this.removedEntities.push(group.identity);
        // It exists again as soon as its topic returns, without waiting for a read.
        if (group.revealed) this.shownBefore.add(group.identity.entityKey);
      }
      if (source.groups.length > 0) source.partial = true;
      else if (!this.availability.has(source.topic)) this.topics.delete(source.topic);
    }
    // A new list rather than the old one changed: a read under way keeps the one it is walking.
    for (const [group, leaving] of dropped)
      group.sources = group.sources.filter((source) => !leaving.has(source));
    this.memberships.forget(gone);
    const first = tracked[0];
    if (!state.limitReported && first !== undefined) {
      state.limitReported = true;
      this.onSourceLimit(state.rule, first.source.topic);
    }
  }
}

function isAvailabilityTopic(topic: string): boolean {
  const last = topic.slice(topic.lastIndexOf("/") + 1);
  return AVAILABILITY_LEVELS.has(last) && last !== topic;
}

function reorder(captures: readonly string[], order: readonly number[]): string[] {
  const reordered = new Array<string>(order.length);
  order.forEach((position, index) => {
    reordered[position] = captures[index] ?? "";
  });
  return reordered;
}

function captureList(rule: Rule, group: EntityGroup): string[] {
  return rule.captureNames.map((name) => group.identity.captures[name] ?? "");
}

/** Runs a read to its end at once. */
function completed(job: ReadJob): ReadResult {
  // An unlimited budget completes a read in one step.
  job.step(Number.POSITIVE_INFINITY);
  return job.result();
}
