import type { FunctionName } from "./aggregate-functions.js";
import type { TopicFilter } from "./topic-filter.js";
import type { ValuePath } from "./value-path.js";

/** A rule as the core uses it: validated, with durations in milliseconds. */
export interface Rule {
  /** Stable identifier: the slug of the rule's `id`, or of its name with the `{…}` braces dropped. */
  readonly key: string;
  /** The entity name, with `{capture}` placeholders for named wildcards. */
  readonly nameTemplate: string;
  readonly filters: readonly TopicFilter[];
  /** The named wildcards, in the order captures are reported (the first filter's order). */
  readonly captureNames: readonly string[];
  readonly function: FunctionName;
  readonly valuePath: ValuePath | undefined;
  /** Lower-cased: binary functions and `count_on` compare case-insensitively. */
  readonly onValue: string;
  readonly minInputs: number;
  readonly maxAgeMs: number;
  readonly intervalMs: number;
  /** How many topics the rule tracks at most before the least recently updated is dropped. */
  readonly maxSources: number;
  readonly presentation: Presentation;
}

/** How Home Assistant should show the value; the core carries it and never reads it. */
export interface Presentation {
  readonly unit: string | undefined;
  readonly deviceClass: string | undefined;
  readonly stateClass: string | undefined;
  readonly precision: number | undefined;
}

export function fansOut(rule: Rule): boolean {
  return rule.captureNames.length > 0;
}
