import { applyBinary, applyNumeric, isBinaryFunction, usesOnValue } from "./aggregate-functions.js";
import type { EntityGroup, EntityIdentity } from "./entity-group.js";

export type DerivedState =
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "binary"; readonly on: boolean }
  /** Too few inputs that count, or a result that is not a finite number: unavailable, never 0. */
  | { readonly kind: "none"; readonly reason: string };

/**
 * What one reading of a source is for a rule at a read. Only `counted` readings reach the
 * function; `no_value` (nothing at the rule's value path) is shown on the status page, not in
 * the attributes, since such a source is simply not one of the rule's.
 */
export type SourceState =
  | "counted"
  | "stale"
  | "offline"
  | "unusable"
  | "out_of_range"
  | "no_value"
  /** A formula's reference whose entity has no value now. */
  | "unavailable";

/**
 * A source of an entity: a topic the rule reads, or, for a formula, a name it uses (`source` is
 * the name as written, `topic` the key of the entity it stands for, empty when there is none).
 */
export interface SourceStatus {
  /** The topic, or `topic#key` where a `*` found several readings in one payload. */
  readonly source: string;
  readonly topic: string;
  readonly state: SourceState;
  /** The value read, after unit conversion; undefined when there is none to show. */
  readonly value: number | string | boolean | undefined;
  /** Why it does not count, for every state but `counted`. */
  readonly reason: string | undefined;
  /** When its payload arrived (a reference's value was computed), on the clock the read was given. */
  readonly receivedAt: number;
}

export type SourceCounts = Readonly<Record<SourceState, number>>;

/**
 * Sources listed by name per kind (counted, and not counted); the counts are always whole. A
 * group of thousands of topics would otherwise build lists nobody reads (Home Assistant's
 * recorder drops attributes over 16 KB).
 */
export const LISTED_SOURCES = 50;

/** The most readings one entity is computed from at a read (max_sources' own bound); the rest are left out. */
export const MAX_READINGS_PER_ENTITY = 100_000;

/** A derived value and what produced it, as shown in the entity's attributes. */
export interface DerivedValue {
  readonly identity: EntityIdentity;
  readonly state: DerivedState;
  /** How many readings the function was applied to. */
  readonly inputs: number;
  /** Counted sources first, then the others; at most `listLimit` of each. */
  readonly sources: readonly SourceStatus[];
  readonly counts: SourceCounts;
  /** Readings past the limits per payload and per entity, not computed with. */
  readonly leftOut: number;
  /** When the first counted reading goes stale, which changes the value without any message. */
  readonly changesAt: number | undefined;
}

/** A source that turned unusable at this read, for one warning in the log. */
export interface UnusableSource {
  readonly identity: EntityIdentity;
  readonly source: string;
  readonly why: string;
}

/** The readings of one group gathered during a read, turned into its derived value at the end. */
export class GroupTally {
  readonly numbers: number[] = [];
  readonly matches: boolean[] = [];
  private latestArrival = Number.NEGATIVE_INFINITY;
  private latestValue = 0;
  private readonly counted: SourceStatus[] = [];
  private readonly others: SourceStatus[] = [];
  /** Whether the rule compares readings with on_value, rather than taking numbers. */
  readonly comparesOnValue: boolean;
  /** Counted readings, by far the most: apart from `counts`, whose keyed update costs more. */
  private countedCount = 0;
  private readonly counts: Record<SourceState, number> = {
    counted: 0,
    stale: 0,
    offline: 0,
    unusable: 0,
    out_of_range: 0,
    no_value: 0,
    unavailable: 0,
  };
  leftOut = 0;
  private changesAt: number | undefined;

  constructor(
    readonly group: EntityGroup,
    private readonly listLimit: number,
  ) {
    this.comparesOnValue = usesOnValue(group.rule.function);
  }

  get inputs(): number {
    return this.numbers.length + this.matches.length;
  }

  /** Whether a source in `state` would be listed: building its status costs an object and a string. */
  wouldList(state: SourceState): boolean {
    return (state === "counted" ? this.counted : this.others).length < this.listLimit;
  }

  note(status: SourceStatus | undefined, state: SourceState): void {
    if (state === "counted") this.countedCount += 1;
    else this.counts[state] += 1;
    if (status !== undefined) (state === "counted" ? this.counted : this.others).push(status);
  }

  /** A counted reading stops counting at `at`: the first millisecond past its receipt plus max_age. */
  expiresAt(at: number): void {
    if (Number.isFinite(at) && (this.changesAt === undefined || at < this.changesAt)) this.changesAt = at;
  }

  addNumber(value: number, arrival: number): void {
    this.numbers.push(value);
    if (arrival >= this.latestArrival) {
      this.latestArrival = arrival;
      this.latestValue = value;
    }
  }

  finish(): DerivedValue {
    return {
      identity: this.group.identity,
      state: this.state(),
      inputs: this.inputs,
      sources: this.counted.concat(this.others),
      counts: { ...this.counts, counted: this.countedCount },
      leftOut: this.leftOut,
      changesAt: this.changesAt,
    };
  }

  private state(): DerivedState {
    const rule = this.group.rule;
    const inputs = this.inputs;
    if (inputs === 0 || inputs < rule.minInputs) return { kind: "none", reason: this.shortfall(inputs) };
    const fn = rule.function;
    if (isBinaryFunction(fn)) return { kind: "binary", on: applyBinary(fn, this.matches) };
    let value: number;
    if (fn === "count_on") value = this.matches.filter(Boolean).length;
    else if (fn === "last") value = this.latestValue;
    else value = applyNumeric(fn, this.numbers);
    // A sum of readings near 1e308 overflows; publishing "inf" would poison Home Assistant's history.
    if (!Number.isFinite(value)) return { kind: "none", reason: "the result is out of range" };
    return { kind: "number", value: value === 0 ? 0 : value };
  }

  private shortfall(inputs: number): string {
    const needs = `${inputs} input${inputs === 1 ? "" : "s"} count${inputs === 1 ? "s" : ""}, needs ${this.group.rule.minInputs}`;
    const why = (["stale", "offline", "unusable", "out_of_range"] as const)
      .filter((state) => this.counts[state] > 0)
      .map((state) => `${this.counts[state]} ${state.replace("_", " ")}`);
    return why.length === 0 ? needs : `${needs} (${why.join(", ")})`;
  }
}
