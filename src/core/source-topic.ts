import type { EntityGroup } from "./entity-group.js";
import { parseAvailability } from "./device-availability.js";

/** What `ingest` keeps of a payload over the size limit: only that it was too large. */
export interface OversizedPayload {
  readonly bytes: number;
}

/**
 * The groups a topic feeds, shared by every topic that feeds the same ones (the topics of one kind
 * in one room, mostly), so that a tracked topic holds one reference rather than lists of its own.
 * Never changed: a topic that joins or leaves a group moves to another membership.
 */
export class Membership {
  /** The groups of rules with `update: change`: a message marks them for recomputing at once. */
  readonly changeGroups: readonly EntityGroup[] | null;
  /** The longest `max_age` among the groups' rules: a payload is kept that long. */
  readonly keepForMs: number;
  /** This membership with one more group, as found so far; created when first needed. */
  private joined: Map<EntityGroup, Membership> | undefined;

  constructor(readonly groups: readonly EntityGroup[]) {
    const changeGroups = groups.filter((group) => group.rule.update === "change");
    this.changeGroups = changeGroups.length === 0 ? null : changeGroups;
    this.keepForMs = Math.max(0, ...groups.map((group) => group.rule.maxAgeMs));
  }

  /** This membership and `group` after its groups. */
  with(group: EntityGroup): Membership {
    this.joined ??= new Map();
    let next = this.joined.get(group);
    if (next === undefined) {
      next = new Membership([...this.groups, group]);
      this.joined.set(group, next);
    }
    return next;
  }

  /** Drops what was found through groups that no longer exist, so that they can be collected. */
  forget(gone: ReadonlySet<EntityGroup>): void {
    if (this.joined === undefined) return;
    for (const [group, next] of this.joined) {
      if (gone.has(group)) this.joined.delete(group);
      else next.forget(gone);
    }
  }
}

/** Every membership grows from the empty one; the store keeps it. */
export class Memberships {
  readonly none = new Membership([]);

  /** `membership` without `group`, the others in the same order. */
  without(membership: Membership, group: EntityGroup): Membership {
    let result = this.none;
    for (const member of membership.groups) if (member !== group) result = result.with(member);
    return result;
  }

  forget(gone: ReadonlySet<EntityGroup>): void {
    if (gone.size > 0) this.none.forget(gone);
  }
}

const PARTIAL = 1;
const HAD_READING = 2;
const WARNED = 4;
/** The bits above the booleans hold `deviceGeneration` + 1. */
const GENERATION_SHIFT = 3;
/** Generations fit the bits left of a small integer; the store has far fewer (MAX_AVAILABILITY_TOPICS). */
export const MAX_GENERATION = 2 ** 27;

/**
 * The latest payload of one topic, shared by every entity group it feeds. The message path only
 * overwrites `payload`, `receivedAt` and `arrival`; parsing waits until a read needs the value, and
 * then happens once per payload however many rules read it. A store may track 100,000 of these,
 * so each holds only what every topic needs: what only some need lives in the shared membership
 * or, for a device's availability topic, in the subclass.
 */
export class SourceTopic {
  payload: string | OversizedPayload | undefined = undefined;
  /** Monotonic milliseconds: a wall clock set back by NTP must not make readings older or newer. */
  receivedAt = 0;
  /**
   * Arrival order across all topics, bumped by every message: `last` must not depend on two
   * messages' milliseconds, and what was computed from a payload can tell whether it is still current.
   */
  arrival = 0;
  /** The groups this topic feeds; a topic feeding none is forgotten. */
  membership: Membership;
  /** The topic where this source's device says whether it is online; null when it has none. */
  device: AvailabilityTopic | null = null;
  /**
   * The booleans below and the device's generation, in one field: a field costs 8 bytes whether it
   * holds a flag or a pointer, and a store may hold 100,000 sources.
   */
  private flags = 0;

  constructor(
    readonly topic: string,
    membership: Membership,
  ) {
    this.membership = membership;
  }

  get groups(): readonly EntityGroup[] {
    return this.membership.groups;
  }

  /** Dropped by some rule at its source limit while other rules keep it. */
  get partial(): boolean {
    return (this.flags & PARTIAL) !== 0;
  }
  set partial(value: boolean) {
    this.flags = value ? this.flags | PARTIAL : this.flags & ~PARTIAL;
  }

  /** Whether some read found a value at a rule's path: only such a source is listed when stale. */
  get hadReading(): boolean {
    return (this.flags & HAD_READING) !== 0;
  }
  set hadReading(value: boolean) {
    this.flags = value ? this.flags | HAD_READING : this.flags & ~HAD_READING;
  }

  /** Warned about as unusable, and not usable since: one warning per change of state. */
  get warned(): boolean {
    return (this.flags & WARNED) !== 0;
  }
  set warned(value: boolean) {
    this.flags = value ? this.flags | WARNED : this.flags & ~WARNED;
  }

  /** The store's availability generation `device` was looked up in; -1 before the first look. */
  get deviceGeneration(): number {
    return (this.flags >>> GENERATION_SHIFT) - 1;
  }
  set deviceGeneration(generation: number) {
    if (generation < -1 || generation >= MAX_GENERATION)
      throw new Error(`generation ${generation} out of range`);
    this.flags = (this.flags & ((1 << GENERATION_SHIFT) - 1)) | ((generation + 1) << GENERATION_SHIFT);
  }

  /** Releases what a stale reading held; the topic stays known so it can be listed as stale. */
  forgetPayload(): void {
    this.payload = undefined;
  }
}

/** A topic where a device says whether it is online; it may feed groups of its own too (`tele/+/LWT`). */
export class AvailabilityTopic extends SourceTopic {
  /**
   * The sources whose device this is, so that they recompute when it speaks. A list: most devices
   * have a few, and a list of one costs less than half a set of one; it changes only when a source
   * finds another device.
   */
  dependents: SourceTopic[] | null = null;

  addDependent(source: SourceTopic): void {
    this.dependents ??= [];
    if (!this.dependents.includes(source)) this.dependents.push(source);
  }

  removeDependent(source: SourceTopic): void {
    const at = this.dependents?.indexOf(source) ?? -1;
    if (at >= 0) this.dependents?.splice(at, 1);
  }
  private parsedArrival = -1;
  private state: "online" | "offline" | undefined = undefined;

  /** What the payload says, parsed once per payload. */
  get availability(): "online" | "offline" | undefined {
    if (this.parsedArrival !== this.arrival) {
      this.parsedArrival = this.arrival;
      this.state = typeof this.payload === "string" ? parseAvailability(this.payload) : undefined;
    }
    return this.state;
  }
}
