import { isBinaryFunction, type FunctionName } from "./aggregate-functions.js";
import type { CompiledFormula } from "./formula/index.js";
import type { TopicFilter } from "./topic-filter.js";
import type { ReadingUnit } from "./units.js";
import type { ValuePath } from "./value-path.js";

/**
 * An aggregate rule as the core uses it: validated, with durations in milliseconds. It reads
 * topics and applies one of the functions to their readings. (A formula rule is a FormulaRule.)
 */
export interface Rule {
  /** Stable identifier: the slug of the rule's `id`, or of its name with the `{…}` braces dropped. */
  readonly key: string;
  /** The entity name, with `{capture}` placeholders for named wildcards. */
  readonly nameTemplate: string;
  readonly filters: readonly TopicFilter[];
  /** Topics matching one of these are never the rule's sources (`!filter` in `topic`). */
  readonly exclusions: readonly TopicFilter[];
  /** The named wildcards, in the order captures are reported (the first filter's order). */
  readonly captureNames: readonly string[];
  readonly function: FunctionName;
  /** Alternatives tried in order for each source; empty means the payload itself is the value. */
  readonly valuePaths: readonly ValuePath[];
  /**
   * The values that count as on, lower-cased: binary functions and `count_on` compare
   * case-insensitively. Several, so that one rule can read firmwares that say it differently.
   */
  readonly onValues: readonly string[];
  readonly minInputs: number;
  /** Infinity for a rule that holds each source's last state until its device goes offline. */
  readonly maxAgeMs: number;
  readonly intervalMs: number;
  /** How many topics the rule tracks at most before the least recently updated is dropped. */
  readonly maxSources: number;
  /** Readings outside [minValue, maxValue] (in the rule's unit) do not count. */
  readonly minValue: number | undefined;
  readonly maxValue: number | undefined;
  /** The unit readings are converted into, when the rule's unit is one the add-on converts. */
  readonly targetUnit: ReadingUnit | undefined;
  /** Readings are differences (°C of difference), not absolute values: converted by scale only. */
  readonly readsDifferences: boolean;
  readonly availability: AvailabilitySetting;
  /** When the rule's entities are recomputed and published. */
  readonly update: UpdateMode;
  /** Under `change`, a numeric entity is published at most this often. */
  readonly minIntervalMs: number;
  /** A binary entity turns on only after its inputs have said on this long; likewise off. */
  readonly delayOnMs: number;
  readonly delayOffMs: number;
  /**
   * The device its entities are grouped under in Home Assistant (a room), with `{capture}`
   * placeholders; undefined: the add-on's own device.
   */
  readonly deviceTemplate: string | undefined;
  readonly presentation: Presentation;
}

/**
 * `change`: within a second of the message that changed an input (automations need that);
 * `interval`: at the rule's read interval. Every rule is also read at its interval, so that
 * staleness and availability apply when no message comes.
 */
export type UpdateMode = "change" | "interval";

/**
 * Where a source's device says whether it is online: found by the firmwares' conventions, named
 * by the rule as a pattern over the source topic's levels, or not looked for.
 */
export type AvailabilitySetting =
  | { readonly kind: "auto" }
  | { readonly kind: "off" }
  | { readonly kind: "pattern"; readonly text: string; readonly parts: readonly AvailabilityPart[] };

/** A literal piece of an availability pattern, or the source topic's level at a 0-based index. */
export type AvailabilityPart = { readonly literal: string } | { readonly level: number };

/** How Home Assistant should show the value; the core carries it and never reads it. */
export interface Presentation {
  readonly unit: string | undefined;
  readonly deviceClass: string | undefined;
  readonly stateClass: string | undefined;
  readonly precision: number | undefined;
  readonly icon: string | undefined;
}

/**
 * A rule that computes its value from the values of other rules (`function: formula`). It reads
 * no topics; it has what every rule has to name, schedule and present its entities.
 */
export interface FormulaRule extends Pick<
  Rule,
  | "key"
  | "nameTemplate"
  | "captureNames"
  | "intervalMs"
  | "update"
  | "minIntervalMs"
  | "delayOnMs"
  | "delayOffMs"
  | "presentation"
  | "deviceTemplate"
> {
  readonly function: "formula";
  readonly formula: CompiledFormula;
  /** What each name in the formula stands for. */
  readonly references: ReadonlyMap<string, FormulaReference>;
}

/**
 * A name in a formula: one entity (a rule without named wildcards, or one entity of a fanned-out
 * rule written by its key, `room_temperature__kitchen`), or, in a formula rule that fans out
 * itself, the entity of a fanned-out rule whose named wildcards have the values of this one's.
 */
export type FormulaReference =
  | { readonly kind: "entity"; readonly ruleKey: string; readonly entityKey: string }
  | {
      readonly kind: "joined";
      readonly ruleKey: string;
      /** The referenced rule's named wildcards, all of them among the formula rule's. */
      readonly captureNames: readonly string[];
    };

/** Every rule of the options, of either kind. */
export type ConfiguredRule = Rule | FormulaRule;

export function isFormulaRule(rule: ConfiguredRule): rule is FormulaRule {
  return rule.function === "formula";
}

/**
 * Whether the rule's entities are binary sensors (on/off): those of all, any and none, and of a
 * formula whose result is a comparison or logic. Everything that differs between a sensor and a
 * binary sensor asks this.
 */
export function isBinaryRule(rule: ConfiguredRule): boolean {
  return isFormulaRule(rule) ? rule.formula.resultKind === "boolean" : isBinaryFunction(rule.function);
}

export function fansOut(rule: Pick<Rule, "captureNames">): boolean {
  return rule.captureNames.length > 0;
}
