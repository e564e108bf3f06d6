import {
  GroupTally,
  MAX_READINGS_PER_ENTITY,
  type DerivedValue,
  type SourceState,
  type SourceStatus,
  type UnusableSource,
} from "./derived-value.js";
import type { EntityGroup } from "./entity-group.js";
import {
  parsePayload,
  readingsOf,
  type ParsedPayload,
  type PayloadReading,
  type PayloadReadings,
} from "./payload-readings.js";
import { comparableText, type ReadingValue } from "./reading-value.js";
import type { Rule } from "./rule.js";
import type { AvailabilityTopic, SourceTopic } from "./source-topic.js";
import { convert } from "./units.js";
import type { ValuePath } from "./value-path.js";

/** What a read found: the derived values, and the sources that turned unusable at it. */
export interface ReadResult {
  readonly values: DerivedValue[];
  readonly turnedUnusable: UnusableSource[];
}

/**
 * A read under way, done a slice at a time so that the caller can let messages in between slices:
 * a read of 100,000 sources at once would hold up the event loop for a tenth of a second or more.
 * The core has no clock, so a slice is measured in work: one unit per source looked at, and per
 * reading aggregated. One read at a time per store.
 */
export interface ReadJob {
  /** Does up to `budget` units of the read; true once it is complete. */
  step(budget: number): boolean;
  /** What the read found; only once `step` has returned true. */
  result(): ReadResult;
}

/** What the store decides at the end of a read, for each group read. */
export interface ReadPassHooks {
  /** Whether the group's entity exists (and so gets a value); called once its sources are all evaluated. */
  readonly shows: (group: EntityGroup, tally: GroupTally) => boolean;
  readonly deviceOf: (source: SourceTopic) => AvailabilityTopic | null;
  /** The read is complete, or abandoned: the store may start another. */
  readonly ended: () => void;
}

/**
 * One read of some groups: every source of those groups is evaluated once, for all of its groups
 * at a time, so that its payload is parsed once and its parsed tree dropped before the next source:
 * the read's memory peak is one payload's tree, not every payload's.
 */
export class ReadPass implements ReadJob {
  private readonly tallies: GroupTally[] = [];
  private readonly values: DerivedValue[] = [];
  private readonly turnedUnusable: UnusableSource[] = [];
  /** The group being evaluated (when reading some groups), then the one being finished. */
  private at = 0;
  /** The list of the group being evaluated, as it was when its evaluation began, and where in it. */
  private members: readonly SourceTopic[] | undefined;
  private member = 0;
  /** Reading some groups: the sources evaluated so far, as a source may feed several of them. */
  private readonly evaluated = new Set<SourceTopic>();
  private phase: "evaluating" | "finishing" | "done" = "evaluating";

  constructor(
    groups: readonly EntityGroup[],
    /**
     * When the read covers every group: every tracked topic, each once. Walking them rather than
     * the groups' lists touches each source once, not once per group it feeds.
     */
    private readonly everySource: Iterator<SourceTopic> | undefined,
    private readonly now: number,
    listLimit: number,
    private readonly hooks: ReadPassHooks,
  ) {
    for (const group of groups) {
      const tally = new GroupTally(group, listLimit);
      group.tally = tally;
      this.tallies.push(tally);
    }
  }

  step(budget: number): boolean {
    let left = budget;
    if (this.phase === "evaluating") left = this.evaluate(left);
    while (this.phase === "finishing" && left > 0) {
      const tally = this.tallies[this.at++];
      if (tally === undefined) {
        this.end();
        break;
      }
      const group = tally.group;
      group.tally = undefined;
      if (group.removed || !this.hooks.shows(group, tally)) continue;
      this.values.push(tally.finish());
      group.read = true;
      left -= 1 + tally.inputs;
    }
    return this.phase === "done";
  }

  /** Evaluates sources until `budget` runs out or every one is done; returns what is left of it. */
  private evaluate(budget: number): number {
    let left = budget;
    if (this.everySource !== undefined) {
      while (left > 0) {
        const next = this.everySource.next();
        if (next.done === true) {
          this.finishing();
          return left;
        }
        left -= 1 + this.visit(next.value);
      }
      return left;
    }
    while (left > 0) {
      const tally = this.tallies[this.at];
      if (tally === undefined) {
        this.finishing();
        return left;
      }
      this.members ??= tally.group.sources;
      const members = this.members;
      while (this.member < members.length && left > 0) {
        const source = members[this.member++];
        left -= 1;
        if (source === undefined || this.evaluated.has(source)) continue;
        this.evaluated.add(source);
        left -= this.visit(source);
      }
      if (this.member >= members.length) {
        this.members = undefined;
        this.member = 0;
        this.at += 1;
      }
    }
    return left;
  }

  private finishing(): void {
    this.phase = "finishing";
    this.at = 0;
    this.evaluated.clear();
  }

  result(): ReadResult {
    if (this.phase !== "done") throw new Error("the read is not complete: step() until it returns true");
    return { values: this.values, turnedUnusable: this.turnedUnusable };
  }

  /** Ends a read that will not be completed, so that the store can start another. */
  abandon(): void {
    for (const tally of this.tallies) if (tally.group.tally === tally) tally.group.tally = undefined;
    this.end();
  }

  private end(): void {
    if (this.phase === "done") return;
    this.phase = "done";
    this.hooks.ended();
  }

  /** Evaluates one source for every group of this read it feeds; returns the readings it gave, as work done. */
  private visit(source: SourceTopic): number {
    // A device's availability topic that feeds no rule is only read through its dependents.
    if (source.membership.groups.length === 0) return 0;
    const payload = source.payload;
    const now = this.now;
    let work = 0;
    let parsed: ParsedPayload | undefined;
    // Rules sharing a value path (most rules on one topic) share its readings.
    let lastPaths: readonly ValuePath[] | undefined;
    let lastHonour = false;
    let lastReadings: PayloadReadings | undefined;
    let unusable: UnusableSource | undefined;
    const device = this.hooks.deviceOf(source);
    const offline = device !== null && device.availability === "offline";

    for (const group of source.membership.groups) {
      const tally = group.tally;
      if (tally === undefined) continue;
      if (payload === undefined) {
        // Forgotten once stale: listed as stale only if it ever was one of the rule's sources.
        if (source.hadReading) this.note(tally, source, undefined, "stale", undefined, "stale");
        continue;
      }
      if (typeof payload !== "string") {
        const why = `payload of ${payload.bytes} bytes is over the size limit`;
        this.note(tally, source, undefined, "unusable", undefined, why);
        unusable ??= { identity: group.identity, source: source.topic, why };
        continue;
      }
      const rule = tally.rule;
      const honour = tally.honoursTempUnit;
      if (lastReadings === undefined || lastPaths !== rule.valuePaths || lastHonour !== honour) {
        parsed ??= parsePayload(payload);
        lastReadings = readingsOf(parsed, rule.valuePaths, honour);
        lastPaths = rule.valuePaths;
        lastHonour = honour;
      }
      const { readings, leftOut } = lastReadings;
      tally.leftOut += leftOut;
      if (readings.length === 0) {
        tally.noValue();
        continue;
      }
      source.hadReading = true;
      const stale = now - source.receivedAt > rule.maxAgeMs;
      work += readings.length;
      for (const reading of readings) {
        if (tally.inputs >= MAX_READINGS_PER_ENTITY) {
          tally.leftOut += 1;
          continue;
        }
        if (offline && tally.followsDevice) {
          this.note(
            tally,
            source,
            reading.key,
            "offline",
            shown(reading.value),
            `${device.topic} says offline`,
          );
        } else if (stale) {
          this.note(tally, source, reading.key, "stale", shown(reading.value), "stale");
        } else {
          const why = this.count(tally, rule, source, reading);
          if (why !== undefined)
            unusable ??= { identity: group.identity, source: labelOf(source, reading.key), why };
        }
      }
    }
    // One warning when a source turns unusable, none while it stays so, another if it turns again.
    if (unusable === undefined) source.warned = false;
    else if (!source.warned) {
      source.warned = true;
      this.turnedUnusable.push(unusable);
    }
    // Evaluated for every group of this read: what it holds can go once no rule would count it.
    if (payload !== undefined && now - source.receivedAt > source.membership.keepForMs)
      source.forgetPayload();
    return work;
  }

  /** Counts one fresh reading, or lists why it cannot count; returns why when it is unusable. */
  private count(
    tally: GroupTally,
    rule: Rule,
    source: SourceTopic,
    reading: PayloadReading,
  ): string | undefined {
    const value = reading.value;
    if (value.kind === "unusable") {
      this.note(tally, source, reading.key, "unusable", undefined, value.why);
      return value.why;
    }
    if (tally.comparesOnValue) {
      const text = comparableText(value);
      if (text === undefined) {
        this.note(tally, source, reading.key, "unusable", undefined, "not comparable with on_value");
        return "not comparable with on_value";
      }
      tally.addMatch(rule.onValues.includes(text));
      tally.expiresAt(source.receivedAt + rule.maxAgeMs + 1);
      this.noteCounted(tally, source, reading.key, shown(value));
      return undefined;
    }
    if (value.kind !== "number") {
      const why = `"${truncate(String(shown(value)))}" is not a number`;
      this.note(tally, source, reading.key, "unusable", shown(value), why);
      return why;
    }
    const converted = convertReading(value.value, reading, rule);
    if (typeof converted === "string") {
      this.note(tally, source, reading.key, "unusable", value.value, converted);
      return converted;
    }
    const range = rangeProblem(converted, rule);
    if (range !== undefined) {
      this.note(tally, source, reading.key, "out_of_range", converted, range);
      return undefined;
    }
    tally.addNumber(converted, source.arrival);
    tally.expiresAt(source.receivedAt + rule.maxAgeMs + 1);
    this.noteCounted(tally, source, reading.key, converted);
    return undefined;
  }

  private noteCounted(
    tally: GroupTally,
    source: SourceTopic,
    key: string | undefined,
    value: SourceStatus["value"],
  ): void {
    if (!tally.listsCounted()) {
      tally.countUnlisted();
      return;
    }
    tally.list({
      source: labelOf(source, key),
      topic: source.topic,
      state: "counted",
      value,
      reason: undefined,
      receivedAt: source.receivedAt,
    });
  }

  private note(
    tally: GroupTally,
    source: SourceTopic,
    key: string | undefined,
    state: Exclude<SourceState, "counted" | "no_value">,
    value: SourceStatus["value"],
    reason: string,
  ): void {
    if (!tally.listsOthers()) {
      tally.countUnlisted(state);
      return;
    }
    tally.list({
      source: labelOf(source, key),
      topic: source.topic,
      state,
      value,
      reason,
      receivedAt: source.receivedAt,
    });
  }
}

function labelOf(source: SourceTopic, key: string | undefined): string {
  return key === undefined ? source.topic : `${source.topic}#${key}`;
}

function shown(value: ReadingValue): SourceStatus["value"] {
  return value.kind === "number" || value.kind === "text" || value.kind === "boolean"
    ? value.value
    : undefined;
}

/** The reading in the rule's unit, or why it cannot be. */
function convertReading(value: number, reading: PayloadReading, rule: Rule): number | string {
  const from = reading.unit;
  const to = rule.targetUnit;
  // Nothing to convert, nothing to round: the reading stays as the device wrote it.
  if (from === undefined || to === undefined || from === to) return value;
  if ("unknown" in from) return `the unit "${truncate(from.unknown)}" cannot be converted to ${to.symbol}`;
  if (from.dimension !== to.dimension) return `${from.symbol} cannot be converted to ${to.symbol}`;
  const converted = convert(value, from, to, rule.readsDifferences);
  // Rounded to 12 significant digits: 71.6 °F is 22 °C, not 21.999999999999996.
  return Number(converted.toPrecision(12));
}

function rangeProblem(value: number, rule: Rule): string | undefined {
  if (rule.minValue !== undefined && value < rule.minValue)
    return `${value} is below min_value ${rule.minValue}`;
  if (rule.maxValue !== undefined && value > rule.maxValue)
    return `${value} is above max_value ${rule.maxValue}`;
  return undefined;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
