import type { EntityGroup } from "./entity-group.js";
import { parseAvailability } from "./device-availability.js";
import { NO_MEMBERSHIP, type Membership } from "./membership.js";

/** What `ingest` keeps of a payload over the size limit: only that it was too large. */
export interface OversizedPayload {
  readonly bytes: number;
}

// Yes/no facts about a source and the read that last evaluated it, in one small integer: a field
// each would cost 8 bytes per source. The read's number is above the three bits of the facts.
const PARTIAL = 1;
const HAD_READING = 2;
const WARNED = 4;
const FACTS = 7;
const PASS_SHIFT = 3;

/**
 * Reads are numbered from 1 to this and then again from 1 (the store clears the marks then): the
 * marks stay a small integer (under 2^30 even shifted, the smallest Smi range V8 builds have),
 * which V8 keeps in the object itself rather than in a box of its own.
 */
export const LAST_READ_PASS = 2 ** 27 - 1;

/**
 * The latest payload of one topic, shared by every entity group it feeds. The message path only
 * overwrites `payload`, `receivedAt` and `arrival`; parsing waits until a read needs the value,
 * and then happens once per payload however many rules read it.
 *
 * A store of 100,000 sources holds 100,000 of these, so a source keeps only what differs between
 * sources: which groups it feeds is a Membership shared by every source feeding the same groups,
 * and what only a device's availability topic needs is in AvailabilityTopic.
 */
export class SourceTopic {
  payload: string | OversizedPayload | undefined = undefined;
  /** Monotonic milliseconds: a wall clock set back by NTP must not make readings older or newer. */
  receivedAt = 0;
  /**
   * Arrival order across all topics, set at every message: `last` must not depend on two
   * messages' milliseconds, and caches of a parsed payload know by it that the payload is new.
   * 0 until the first payload.
   */
  arrival = 0;
  /** The groups this topic feeds, with what follows from them; a topic feeding none is forgotten. */
  membership: Membership = NO_MEMBERSHIP;
  /**
   * The topic where this source's device says whether it is online; null when it has none,
   * undefined until it is looked for (again, once new availability topics have appeared).
   */
  device: AvailabilityTopic | null | undefined = undefined;
  private flags = 0;

  constructor(readonly topic: string) {}

  get groups(): readonly EntityGroup[] {
    return this.membership.groups;
  }

  /** Dropped by some rule at its source limit while other rules keep it. */
  get partial(): boolean {
    return (this.flags & PARTIAL) !== 0;
  }
  set partial(value: boolean) {
    this.setFact(PARTIAL, value);
  }

  /** Whether some read found a value at a rule's path: only such a source is listed when stale. */
  get hadReading(): boolean {
    return (this.flags & HAD_READING) !== 0;
  }
  set hadReading(value: boolean) {
    this.setFact(HAD_READING, value);
  }

  /** Warned about as unusable, and not usable since: one warning per change of state. */
  get warned(): boolean {
    return (this.flags & WARNED) !== 0;
  }
  set warned(value: boolean) {
    this.setFact(WARNED, value);
  }

  private setFact(fact: number, value: boolean): void {
    this.flags = value ? this.flags | fact : this.flags & ~fact;
  }

  /** Whether read `pass` has evaluated this topic already: a read evaluates each topic once. */
  visitedIn(pass: number): boolean {
    return this.flags >>> PASS_SHIFT === pass;
  }

  markVisited(pass: number): void {
    this.flags = (pass << PASS_SHIFT) | (this.flags & FACTS);
  }

  /** Forgets which read evaluated it, when the reads' numbers start again from 1. */
  clearVisit(): void {
    this.flags &= FACTS;
  }

  /** Releases what a stale reading held; the topic stays known so it can be listed as stale. */
  forgetPayload(): void {
    this.payload = undefined;
  }
}

/** A topic where a device says whether it is online: also a source, for a rule that names it (`tele/+/LWT`). */
export class AvailabilityTopic extends SourceTopic {
  /**
   * The sources whose device this is, so that they recompute when it speaks: a device has a few,
   * and a list of a few costs a third of a Set.
   */
  dependents: readonly SourceTopic[] = [];
  private parsedArrival = -1;
  private state: "online" | "offline" | undefined = undefined;

  /** What this topic says as a device's availability topic, parsed once per payload. */
  get availability(): "online" | "offline" | undefined {
    if (this.parsedArrival !== this.arrival) {
      this.parsedArrival = this.arrival;
      this.state = typeof this.payload === "string" ? parseAvailability(this.payload) : undefined;
    }
    return this.state;
  }

  // Lists of exactly their length: a pushed-to list reserves room for 16, at 8 bytes each.
  addDependent(source: SourceTopic): void {
    if (!this.dependents.includes(source)) this.dependents = this.dependents.concat(source);
  }

  removeDependent(source: SourceTopic): void {
    if (this.dependents.includes(source))
      this.dependents = this.dependents.filter((known) => known !== source);
  }

  clearDependents(): void {
    this.dependents = [];
  }
}
