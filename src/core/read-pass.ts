import {
  GroupTally,
  MAX_READINGS_PER_ENTITY,
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

/**
 * `read` is a read time's pass. `observe` is the status page asking what a read would find now: it
 * also lists sources with no value at the rule's path, and changes nothing a read would (no
 * warnings, no `hadReading`, no read marks); its caller visits each source once.
 */
export type PassMode = "read" | "observe";

/**
 * One read of some groups: every source of those groups is evaluated once, for all of its groups
 * at a time, so that its payload is parsed once and its parsed tree dropped before the next source:
 * the read's memory peak is one payload's tree, not every payload's.
 */
export class ReadPass {
  readonly tallies = new Map<EntityGroup, GroupTally>();
  readonly turnedUnusable: UnusableSource[] = [];
  /** Rules whose readings are JSON true/false while no on_value is: they can never be on. */
  readonly booleansMissed = new Map<string, Rule>();

  constructor(
    private readonly now: number,
    private readonly pass: number,
    private readonly listLimit: number,
    private readonly deviceOf: (source: SourceTopic, rule: Rule) => AvailabilityTopic | null,
    private readonly mode: PassMode = "read",
  ) {}

  include(group: EntityGroup): void {
    const tally = new GroupTally(group, this.listLimit);
    this.tallies.set(group, tally);
    // The status page's look at one entity may come between two slices of a read: only reads
    // use the group's slot, and one read at a time.
    if (this.mode === "read") {
      group.tally = tally;
      group.tallyPass = this.pass;
    }
  }

  /** Frees what the groups' slots hold once the read's values are made. */
  close(): void {
    if (this.mode !== "read") return;
    for (const group of this.tallies.keys()) if (group.tallyPass === this.pass) group.tally = undefined;
  }

  private tallyOf(group: EntityGroup): GroupTally | undefined {
    if (this.mode === "read") return group.tallyPass === this.pass ? group.tally : undefined;
    return this.tallies.get(group);
  }

  /** Evaluates `source` for the groups of this pass it feeds; a read also releases its payload once stale. */
  visit(source: SourceTopic): void {
    const observing = this.mode === "observe";
    if (!observing) {
      if (source.visitedIn(this.pass)) return;
      source.markVisited(this.pass);
    }
    this.evaluate(source, observing);
    // Stale for every rule it feeds: the payload is not needed any more, and may be large.
    if (
      !observing &&
      source.payload !== undefined &&
      this.now - source.receivedAt > source.membership.keepForMs
    )
      source.forgetPayload();
  }

  private evaluate(source: SourceTopic, observing: boolean): void {
    const payload = source.payload;
    let parsed: ParsedPayload | undefined;
    // Rules sharing a value path (most rules on one topic) share its readings.
    let lastPaths: readonly ValuePath[] | undefined;
    let lastHonour = false;
    let lastReadings: PayloadReadings | undefined;
    let unusable: UnusableSource | undefined;
    let everyGroup = true;

    for (const group of source.groups) {
      const tally = this.tallyOf(group);
      if (tally === undefined) {
        everyGroup = false;
        continue;
      }
      const rule = group.rule;
      if (payload === undefined) {
        // Forgotten once stale: listed as stale only if it ever was one of the rule's sources.
        if (source.hadReading) this.note(tally, source, undefined, "stale", undefined, "stale");
        else if (observing)
          this.note(tally, source, undefined, "no_value", undefined, "no payload kept: it went stale");
        continue;
      }
      if (typeof payload !== "string") {
        const why = `payload of ${payload.bytes} bytes is over the size limit`;
        this.note(tally, source, undefined, "unusable", undefined, why);
        unusable ??= { identity: group.identity, source: source.topic, why };
        continue;
      }
      const honour = rule.targetUnit?.dimension === "temperature";
      if (lastReadings === undefined || lastPaths !== rule.valuePaths || lastHonour !== honour) {
        parsed ??= parsePayload(payload);
        lastReadings = readingsOf(parsed, rule.valuePaths, honour);
        lastPaths = rule.valuePaths;
        lastHonour = honour;
      }
      const { readings, leftOut } = lastReadings;
      tally.leftOut += leftOut;
      if (readings.length === 0) {
        if (observing) this.note(tally, source, undefined, "no_value", undefined, noValueReason(rule));
        else tally.note(undefined, "no_value");
        continue;
      }
      if (!observing) source.hadReading = true;
      const stale = this.now - source.receivedAt > rule.maxAgeMs;
      const device = this.deviceOf(source, rule);
      const offline = device !== null && device.availability === "offline";
      for (const reading of readings) {
        if (tally.inputs >= MAX_READINGS_PER_ENTITY) {
          tally.leftOut += 1;
          continue;
        }
        if (offline) {
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
    if (observing) return;
    if (unusable === undefined) {
      // Usable again only when a read of all its rules says so.
      if (everyGroup) source.warned = false;
    } else if (!source.warned) {
      source.warned = true;
      this.turnedUnusable.push(unusable);
    }
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
      const on = rule.onValues.includes(text);
      if (!on && value.kind === "boolean" && !this.booleansMissed.has(rule.key) && !takesBooleans(rule))
        this.booleansMissed.set(rule.key, rule);
      tally.matches.push(on);
      tally.expiresAt(source.receivedAt + rule.maxAgeMs + 1);
      this.note(tally, source, reading.key, "counted", shown(value), undefined);
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
    this.note(tally, source, reading.key, "counted", converted, undefined);
    return undefined;
  }

  private note(
    tally: GroupTally,
    source: SourceTopic,
    key: string | undefined,
    state: SourceState,
    value: SourceStatus["value"],
    reason: string | undefined,
  ): void {
    const status: SourceStatus | undefined = tally.wouldList(state)
      ? {
          source: labelOf(source, key),
          topic: source.topic,
          state,
          value,
          reason,
          receivedAt: source.receivedAt,
        }
      : undefined;
    tally.note(status, state);
  }
}

function noValueReason(rule: Rule): string {
  return rule.valuePaths.length === 0 ? "the payload says there is no value" : "no value at the value path";
}

/** Whether one of the rule's on values can equal a JSON true or false. */
function takesBooleans(rule: Rule): boolean {
  return rule.onValues.includes("true") || rule.onValues.includes("false");
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
  if (from === undefined || to === undefined) return value;
  if ("unknown" in from) return `the unit "${truncate(from.unknown)}" cannot be converted to ${to.symbol}`;
  if (from.dimension !== to.dimension) return `${from.symbol} cannot be converted to ${to.symbol}`;
  const converted = convert(value, from, to, rule.readsDifferences);
  // To 4 decimals, beyond any sensor's resolution: 71.6 °F is 22 °C, not 21.999999999999996, and
  // 71.1 °F is 21.7222 °C rather than twelve digits in the attributes.
  return Math.round(converted * 10_000) / 10_000;
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
