import type { EntityGroup } from "./entity-group.js";
import { parseAvailability } from "./device-availability.js";

/** What `ingest` keeps of a payload over the size limit: only that it was too large. */
export interface OversizedPayload {
  readonly bytes: number;
}

/**
 * The latest payload of one topic, shared by every entity group it feeds. The message path only
 * overwrites `payload`, `receivedAt`, `arrival` and `version`; parsing waits until a read needs
 * the value, and then happens once per payload however many rules read it.
 */
export class SourceTopic {
  payload: string | OversizedPayload | undefined = undefined;
  /** Monotonic milliseconds: a wall clock set back by NTP must not make readings older or newer. */
  receivedAt = 0;
  /** Arrival order across all topics: `last` must not depend on two messages' milliseconds. */
  arrival = 0;
  /** Bumped on every message, so caches know a payload is new. */
  version = 0;

  /**
   * The groups this topic feeds; a topic feeding none is forgotten. `join` replaces the array
   * rather than pushing: a pushed-to array reserves room for many more, and every tracked topic has one.
   */
  groups: EntityGroup[] = [];
  /** The longest `max_age` among those groups' rules: the payload is kept that long. */
  keepForMs = 0;
  /** Dropped by some rule at its source limit while other rules keep it. */
  partial = false;
  /** The groups of rules with `update: change`: a message marks them for recomputing at once. */
  changeGroups: EntityGroup[] | null = null;
  /** For a device's availability topic: the sources whose device it is, so that they recompute when it speaks. */
  dependents: Set<SourceTopic> | null = null;

  /** The topic where this source's device says whether it is online; null when it has none. */
  device: SourceTopic | null = null;
  /** The store's availability generation `device` was looked up in; -1 before the first look. */
  deviceGeneration = -1;
  /** Whether some read found a value at a rule's path: only such a source is listed when stale. */
  hadReading = false;
  /** Warned about as unusable, and not usable since: one warning per change of state. */
  warned = false;
  /** The read that last evaluated this topic, so that a read evaluates each topic once. */
  readPass = 0;

  private availabilityVersion = -1;
  private availabilityState: "online" | "offline" | undefined = undefined;

  constructor(readonly topic: string) {}

  join(group: EntityGroup): void {
    this.groups = this.groups.concat(group);
    this.keepForMs = Math.max(this.keepForMs, group.rule.maxAgeMs);
    this.changeGroups = changeDriven(this.groups);
  }

  leave(group: EntityGroup): void {
    const at = this.groups.indexOf(group);
    if (at >= 0) this.groups.splice(at, 1);
    this.keepForMs = Math.max(0, ...this.groups.map((member) => member.rule.maxAgeMs));
    this.changeGroups = changeDriven(this.groups);
  }

  /** What this topic says as a device's availability topic, parsed once per payload. */
  get availability(): "online" | "offline" | undefined {
    if (this.availabilityVersion !== this.version) {
      this.availabilityVersion = this.version;
      this.availabilityState = typeof this.payload === "string" ? parseAvailability(this.payload) : undefined;
    }
    return this.availabilityState;
  }

  /** Releases what a stale reading held; the topic stays known so it can be listed as stale. */
  forgetPayload(): void {
    this.payload = undefined;
  }
}

function changeDriven(groups: readonly EntityGroup[]): EntityGroup[] | null {
  const found = groups.filter((group) => group.rule.update === "change");
  return found.length === 0 ? null : found;
}
