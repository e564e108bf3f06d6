import { LISTED_SOURCES, type DerivedValue } from "./derived-value.js";
import {
  AVAILABILITY_LEVELS,
  availabilitySubscriptionOf,
  availabilityTopicOf,
} from "./device-availability.js";
import {
  contestedKeys,
  EntityGroup,
  type ReadBasis,
  identify,
  type EntityIdentity,
  type SavedEntityKey,
} from "./entity-group.js";
import { ruleKeyOfEntity } from "./entity-naming.js";
import { Memberships } from "./membership.js";
import { readAtOnce, ReadJob, type ReadResult } from "./read-job.js";
import { ReadPass } from "./read-pass.js";
import { fansOut, isFormulaRule, type ConfiguredRule, type Rule } from "./rule.js";
import { AvailabilityTopic, LAST_READ_PASS, SourceTopic } from "./source-topic.js";
import { parseTopicFilter } from "./topic-filter.js";
import { TopicMatcher } from "./topic-matcher.js";

/** Device availability topics kept at most: a `#` over a broker full of `…/status` topics stays bounded. */
export const MAX_AVAILABILITY_TOPICS = 10_000;
/** Topics that feed no rule (excluded ones) remembered at most, so that they skip the matcher. */
const MAX_IGNORED_TOPICS = 10_000;
/** Sources of each kind `inspect` lists: every source of any rule a person reads through. */
export const INSPECTED_SOURCES = 500;

export type { ReadResult, SavedEntityKey };

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
 * The message path (`ingest`) is a map lookup and three assignments for a topic seen before, plus
 * a mark per group of the rules on change it feeds; everything else waits for a read, which
 * evaluates each source once for all its groups (ReadPass), a slice at a time (ReadJob).
 */
export class ReadingsStore {
  private readonly states = new Map<string, RuleState>();
  private readonly matcher = new TopicMatcher<FilterTarget>();
  private readonly exclusions = new TopicMatcher<RuleState>();
  /** The availability topics rules name by their own patterns, whatever their last level. */
  private readonly patternAvailability = new TopicMatcher<true>();
  private readonly topics = new Map<string, SourceTopic>();
  /** Topics where devices say whether they are online, by topic; also in `topics`. */
  private readonly availability = new Map<string, AvailabilityTopic>();
  private readonly memberships = new Memberships();
  private groupIds = 0;
  /** Bumped when an availability topic appears, so sources look for their device again. */
  private availabilityGeneration = 0;
  /** The generation the sources' `device` links were found in. */
  private linkedGeneration = 0;
  private readonly ignored = new Set<string>();
  private arrivals = 0;
  private passes = 0;
  /** Entity keys shown in an earlier run: their groups are revealed as soon as they exist. */
  private readonly shownBefore = new Set<string>();
  private removedEntities: EntityIdentity[] = [];
  /** Groups of `update: change` rules whose inputs changed since they were last computed. */
  private changedGroups: EntityGroup[] = [];
  private readonly groupsByEntityKey = new Map<string, EntityGroup>();
  private readonly ignoredPrefixes: readonly string[];
  private readonly onSourceLimit: (rule: Rule, droppedTopic: string) => void;

  /** Formula rules among `rules` read no topics and are left to the formulas' own evaluation. */
  constructor(rules: readonly ConfiguredRule[], options: ReadingsStoreOptions = {}) {
    this.ignoredPrefixes = options.ignoredPrefixes ?? [];
    this.onSourceLimit = options.onSourceLimit ?? (() => undefined);
    for (const rule of rules) {
      if (isFormulaRule(rule)) continue;
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
      if (rule.availability.kind === "pattern") {
        for (const filter of rule.filters) {
          const subscription = availabilitySubscriptionOf(filter.subscription, rule.availability);
          const parsed = subscription === undefined ? undefined : parseTopicFilter(subscription);
          if (parsed?.ok === true) this.patternAvailability.add(parsed.value, true);
        }
      }
      // A rule without named wildcards is one entity, known before any reading arrives.
      if (!fansOut(rule)) this.groupOf(state, []);
    }
  }

  /** The hot path: remember the latest payload of `topic`. `now` is a monotonic clock's. */
  ingest(topic: string, payload: string, now: number): void {
    const source = this.sourceOf(topic, now);
    if (source !== undefined) this.arrive(source, payload, now);
  }

  /** A message on a known source: kept, and the groups on change it feeds (or its device's) marked. */
  private arrive(source: SourceTopic, payload: SourceTopic["payload"], now: number): void {
    source.payload = payload;
    source.receivedAt = now;
    source.arrival = ++this.arrivals;
    const changeGroups = source.membership.changeGroups;
    if (changeGroups !== null) this.markChanged(changeGroups);
    if (source instanceof AvailabilityTopic) this.markDependents(source.dependents);
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

  /** Derived values of the `update: change` entities whose inputs changed since they were computed. */
  readChanged(now: number, listLimit = LISTED_SOURCES): ReadResult {
    return readAtOnce(this.beginReadChanged(now, listLimit));
  }

  /** The same, a slice at a time: a burst that changed every group is a read of every source. */
  beginReadChanged(now: number, listLimit = LISTED_SOURCES): ReadJob {
    const groups = this.changedGroups;
    this.changedGroups = [];
    for (const group of groups) group.changed = false;
    return this.readJob(groups, now, listLimit, true);
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
      const changeGroups = dependent.membership.changeGroups;
      if (changeGroups !== null) this.markChanged(changeGroups);
    }
  }

  /** A payload too large to keep: remembered only as unusable, so it cannot pin memory. */
  ingestOversized(topic: string, bytes: number, now: number): void {
    const source = this.sourceOf(topic, now);
    if (source !== undefined) this.arrive(source, { bytes }, now);
  }

  /**
   * Derived values of the given rules (all by default) at time `now`; releases payloads gone stale.
   * Fanned-out entities that never had a usable reading are left out: they do not exist yet.
   */
  read(now: number, ruleKeys?: readonly string[], listLimit = LISTED_SOURCES): ReadResult {
    return readAtOnce(this.beginRead(now, ruleKeys, listLimit));
  }

  /**
   * The same read, taken a slice at a time (ReadJob.step). One read at a time: a readChanged
   * between two slices would evaluate sources the read has yet to (the caller queues them).
   * With `onlyChanged`, groups none of whose inputs changed since they were last computed by such
   * a read or by readChanged are left out of the result (and not evaluated), unless marked changed:
   * for the one caller that was given their last values and still has them. Only those reads
   * record what they computed from; a read without it leaves the next one's view alone.
   */
  beginRead(
    now: number,
    ruleKeys?: readonly string[],
    listLimit = LISTED_SOURCES,
    { onlyChanged = false }: { readonly onlyChanged?: boolean } = {},
  ): ReadJob {
    const groups: EntityGroup[] = [];
    // Devices are linked again by the read's pass; an entity computed before new availability
    // topics appeared is computed again whatever its sources' links (unchangedSince).
    for (const state of this.selectStates(ruleKeys))
      for (const group of state.groups.values())
        if (!onlyChanged || group.changed || !this.unchangedSince(group, now)) groups.push(group);
    return this.readJob(groups, now, listLimit, onlyChanged);
  }

  /**
   * Whether a group would come out of a read at `now` as it came out of its last computation: no
   * source has had a message since (nor its device), none joined or left, and no reading went
   * stale in between. Its sources' arrival and time are looked at, not their payloads: a home
   * where most sensors report only on change reads the few groups that changed.
   */
  private unchangedSince(group: EntityGroup, now: number): boolean {
    const basis = group.basis;
    if (basis === undefined || group.sourcesChanged) return false;
    if (basis.availabilityGeneration !== this.availabilityGeneration) return false;
    // The device of a rule's own pattern is looked up at each evaluation rather than kept.
    if (group.rule.availability.kind === "pattern") return false;
    const since = basis.arrivals;
    const maxAge = group.rule.maxAgeMs;
    for (const source of group.sources) {
      if (source.arrival > since) return false;
      const device = source.device;
      if (device !== null && device !== undefined && device.arrival > since) return false;
      // Fresh when last computed, stale now: the same test as the read's (now - receivedAt > maxAge).
      const staleAfter = source.receivedAt + maxAge;
      if (staleAfter >= basis.at && staleAfter < now) return false;
    }
    return true;
  }

  private readJob(groups: readonly EntityGroup[], now: number, listLimit: number, tracked: boolean): ReadJob {
    const pass = new ReadPass(now, this.nextPass(), listLimit, (source, rule) => this.deviceOf(source, rule));
    // A group marked changed and then dropped at the source limit is gone: nothing to compute.
    const current = groups.filter((group) => this.isCurrent(group));
    for (const group of current) {
      pass.include(group);
      // Only a read that records what it computed from takes the change in as seen.
      if (tracked) group.sourcesChanged = false;
    }
    // What the groups are computed from: anything arriving from now on is new for the next read.
    const basis: ReadBasis = {
      arrivals: this.arrivals,
      at: now,
      availabilityGeneration: this.availabilityGeneration,
    };
    return new ReadJob(current, pass, (done) => this.finishRead(done, tracked ? basis : undefined));
  }

  private nextPass(): number {
    this.relinkDevices();
    if (this.passes === LAST_READ_PASS) {
      this.passes = 0;
      for (const source of this.topics.values()) source.clearVisit();
    }
    return ++this.passes;
  }

  private finishRead(pass: ReadPass, basis: ReadBasis | undefined): ReadResult {
    const values: DerivedValue[] = [];
    for (const [group, tally] of pass.tallies) {
      // Dropped at a source limit between two slices of the read: retired, not computed.
      if (!this.isCurrent(group)) continue;
      if (tally.inputs > 0) group.revealed = true;
      if (basis !== undefined) group.basis = basis;
      if (!this.exists(group)) continue;
      values.push(tally.finish());
      group.read = true;
    }
    return { values, turnedUnusable: pass.turnedUnusable, booleansMissed: [...pass.booleansMissed.values()] };
  }

  /**
   * What a read at `now` would make of one entity, changing nothing: no warning, no entity
   * revealed, no payload released, nothing a later read sees. For the status page: it lists up to
   * `listLimit` sources of each kind, those with no value at the rule's path too. Undefined for an
   * entity that does not exist (yet).
   */
  inspect(now: number, entityKey: string, listLimit = INSPECTED_SOURCES): DerivedValue | undefined {
    const group = this.groupsByEntityKey.get(entityKey);
    if (group === undefined || !this.wouldExist(group)) return undefined;
    this.relinkDevices();
    const pass = new ReadPass(
      now,
      // It marks no source, so it takes no read number: it may come between two slices of a read.
      0,
      listLimit,
      (source, rule) => this.deviceOf(source, rule),
      "observe",
    );
    pass.include(group);
    for (const source of group.sources) pass.visit(source);
    return pass.tallies.get(group)?.finish();
  }

  /** The latest payload kept for `topic`, as received; undefined when none is kept (or it was too large). */
  payloadOf(topic: string): string | undefined {
    const payload = this.topics.get(topic)?.payload;
    return typeof payload === "string" ? payload : undefined;
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

  /** An availability topic by the conventions, or by a rule's own pattern (`home/{2}/alive`). */
  private isAvailabilityTopic(topic: string): boolean {
    if (endsLikeAvailability(topic)) return true;
    return this.patternAvailability.size > 0 && this.patternAvailability.match(topic).length > 0;
  }

  private isCurrent(group: EntityGroup): boolean {
    return this.states.get(group.rule.key)?.groups.get(group.key) === group;
  }

  /** Like `exists`, without revealing anything. */
  private wouldExist(group: EntityGroup): boolean {
    return group.revealed || this.shownBefore.has(group.identity.entityKey) || !fansOut(group.rule);
  }

  private exists(group: EntityGroup): boolean {
    if (!group.revealed && this.shownBefore.has(group.identity.entityKey)) group.revealed = true;
    return group.revealed || !fansOut(group.rule);
  }

  /**
   * The source's device availability topic under a rule's setting. By the conventions it is
   * looked up again only when new availability topics have appeared; by a rule's own pattern
   * (rare) at each read.
   */
  private deviceOf(source: SourceTopic, rule: Rule): AvailabilityTopic | null {
    const setting = rule.availability;
    if (setting.kind === "off" || this.availability.size === 0) return null;
    if (setting.kind === "pattern") {
      const topic = availabilityTopicOf(source.topic, setting);
      const device = topic === undefined ? undefined : this.availability.get(topic);
      if (device === undefined || device === source) return null;
      device.addDependent(source);
      return device;
    }
    if (source.device !== undefined) return source.device;
    const topic = availabilityTopicOf(source.topic, setting);
    const device = topic === undefined ? undefined : this.availability.get(topic);
    source.device = device === undefined || device === source ? null : device;
    source.device?.addDependent(source);
    return source.device;
  }

  /**
   * Once availability topics have appeared, every source looks for its device again at its next
   * evaluation: links and dependents are cleared together, so that no device keeps a source it no
   * longer speaks for. Once per read at most, and only while new devices appear; the change-driven
   * groups were marked when they did, so their sources are linked again at the next readChanged.
   */
  private relinkDevices(): void {
    if (this.linkedGeneration === this.availabilityGeneration) return;
    this.linkedGeneration = this.availabilityGeneration;
    for (const device of this.availability.values()) device.clearDependents();
    for (const source of this.topics.values()) source.device = undefined;
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
    return [...this.states.values()].flatMap((state) =>
      contestedKeys(
        state.rule,
        [...state.groups.values()].map((group) => group.identity),
      ),
    );
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
    // Arrival order follows the saved times, so that `last` is the same after a restart.
    const byTime = [...saved].sort((a, b) => a.receivedAt - b.receivedAt);
    for (const reading of byTime) {
      if (reading.receivedAt > now) continue;
      const known = this.topics.get(reading.topic);
      if (known !== undefined && known.arrival > 0) continue;
      const availability = this.isAvailabilityTopic(reading.topic);
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

  private selectStates(ruleKeys: readonly string[] | undefined): Iterable<RuleState> {
    if (ruleKeys === undefined) return this.states.values();
    return ruleKeys.flatMap((key) => {
      const state = this.states.get(key);
      return state === undefined ? [] : [state];
    });
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
    const availability = this.isAvailabilityTopic(topic) && this.availability.size < MAX_AVAILABILITY_TOPICS;
    const source = availability ? new AvailabilityTopic(topic) : new SourceTopic(topic);
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
    const availability = this.isAvailabilityTopic(source.topic);
    let excluded: Set<RuleState> | undefined;
    if (this.exclusions.size > 0)
      for (const { target } of this.exclusions.match(source.topic)) (excluded ??= new Set()).add(target);
    // Its groups are worked out first and its membership once: the lists on the way would be
    // memberships of their own.
    const joined: EntityGroup[] = [];
    for (const { target, captures, literalLast } of this.matcher.match(source.topic)) {
      if (excluded?.has(target.state) === true) continue;
      // `zigbee2mqtt/#` does not read `<device>/availability` as a value; `tele/+/LWT` does.
      if (availability && !literalLast) continue;
      const group = this.groupOf(
        target.state,
        target.order.length === 0 ? [] : reorder(captures, target.order),
      );
      if (source.groups.includes(group) || joined.includes(group)) continue;
      if (target.state.sourceCount >= target.state.rule.maxSources) this.dropLeastRecent(target.state);
      group.sources.push(source);
      group.sourcesChanged = true;
      joined.push(group);
      target.state.sourceCount += 1;
    }
    if (joined.length > 0) this.memberships.assign(source, [...source.groups, ...joined]);
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
      group = new EntityGroup(++this.groupIds, state.rule, key, identity);
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
    const dropped = tracked.slice(0, count);
    const leaving = new Map<EntityGroup, Set<SourceTopic>>();
    for (const { group, source } of dropped) {
      let gone = leaving.get(group);
      if (gone === undefined) leaving.set(group, (gone = new Set()));
      gone.add(source);
      this.memberships.leave(source, group);
      state.sourceCount -= 1;
    }
    for (const [group, gone] of leaving) {
      // A new list rather than splicing: a read between slices keeps the list it is walking.
      group.sources = group.sources.filter((source) => !gone.has(source));
      group.sourcesChanged = true;
      if (group.sources.length > 0 || !fansOut(state.rule)) continue;
      state.groups.delete(group.key);
      this.groupsByEntityKey.delete(group.identity.entityKey);
      // Free the key, so the entity gets the same key back if its value returns.
      state.entityKeys.delete(group.identity.entityKey);
      // Only entities a read has shown: an explosion of new values between reads stays unremembered.
      if (group.read) this.removedEntities.push(group.identity);
      // It exists again as soon as its topic returns, without waiting for a read.
      if (group.revealed) this.shownBefore.add(group.identity.entityKey);
    }
    for (const { source } of dropped) {
      if (source.groups.length > 0 || this.availability.has(source.topic)) source.partial = true;
      else {
        this.topics.delete(source.topic);
        source.device?.removeDependent(source);
      }
    }
    const first = tracked[0];
    if (!state.limitReported && first !== undefined) {
      state.limitReported = true;
      this.onSourceLimit(state.rule, first.source.topic);
    }
  }
}

/** Whether the topic's last level is one the firmwares' availability topics end with (`…/LWT`, …). */
export function endsLikeAvailability(topic: string): boolean {
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
