/**
 * What the status page's server sends to the page in the browser, as JSON. Types only, importing
 * nothing, so that the page's own script (src/status-page/page/status.js) checks against them too.
 * Times are milliseconds on the add-on's monotonic clock; every message carries that clock's `now`,
 * from which the page computes ages.
 */

export type SourceStateName =
  "counted" | "stale" | "offline" | "unusable" | "out_of_range" | "no_value" | "unavailable";

export interface RuleView {
  readonly key: string;
  /** The name as configured, with `{capture}` placeholders for a fanned-out rule. */
  readonly name: string;
  readonly function: string;
  /** The filters as written; exclusions start with `!`. */
  readonly topics: readonly string[];
  /** A formula rule's formula; it reads no topics. */
  readonly formula: string | undefined;
  readonly valuePath: string | undefined;
  readonly unit: string | undefined;
  readonly intervalSeconds: number;
  /** Undefined when the rule holds each source's last state until its device goes offline. */
  readonly maxAgeSeconds: number | undefined;
  readonly minInputs: number;
  /** Whether it makes one entity per value of a named wildcard. */
  readonly fansOut: boolean;
}

export interface SourceView {
  /** The topic, or `topic#key` where a `*` found several readings in one payload. */
  readonly source: string;
  readonly topic: string;
  readonly state: SourceStateName;
  /** The value read, after unit conversion, as text; undefined when there is none to show. */
  readonly value: string | undefined;
  /** Why it does not count. */
  readonly reason: string | undefined;
  readonly receivedAt: number;
}

export interface EntityView {
  readonly key: string;
  readonly rule: string;
  readonly name: string;
  /** The state as published: a number with the rule's precision, or ON/OFF; undefined when unavailable. */
  readonly state: string | undefined;
  readonly unit: string | undefined;
  readonly unavailableBecause: string | undefined;
  readonly inputs: number;
  readonly counts: Readonly<Record<SourceStateName, number>>;
  readonly leftOut: number;
  /** When the read that computed it ran. */
  readonly readAt: number;
  readonly sources: readonly SourceView[];
  /** Whether `sources` lists every source the entity has (else some were left out of the list). */
  readonly complete: boolean;
}

/** The first message of a connection: everything. */
export interface Snapshot {
  readonly now: number;
  /** Changes are numbered; `api/updates?after=<seq>` returns those after this one. */
  readonly seq: number;
  readonly rules: readonly RuleView[];
  readonly entities: readonly EntityView[];
}

/** Entities whose view changed since `after`, and those that no longer exist. */
export interface Update {
  readonly now: number;
  readonly seq: number;
  readonly entities: readonly EntityView[];
  readonly removed: readonly string[];
}

/** Every source of one entity as a read would find it now, those with no value at the path too. */
export interface Inspection {
  readonly now: number;
  readonly entity: EntityView | undefined;
}

export interface PayloadView {
  readonly topic: string;
  /** Its beginning when `shortened`; undefined when the add-on keeps none for that topic. */
  readonly payload: string | undefined;
  readonly bytes: number;
  readonly shortened: boolean;
}

export interface TrialReadingView {
  readonly source: string;
  readonly kind: "number" | "text" | "boolean" | "unusable";
  readonly value: string | undefined;
  readonly unit: string | undefined;
  readonly why: string | undefined;
}

export interface TrialMatchView {
  readonly topic: string;
  readonly captures: Readonly<Record<string, string>>;
  readonly receivedAt: number;
  readonly skipped: string | undefined;
  readonly readings: readonly TrialReadingView[];
  readonly leftOut: number;
}

export interface SamplingView {
  /** Whether the add-on is receiving every topic on the broker right now. */
  readonly active: boolean;
  readonly topics: number;
  readonly since: number | undefined;
  /** Why sampling does not work (the broker refused the subscription, …). */
  readonly problem: string | undefined;
}

export type TrialView =
  | {
      readonly ok: false;
      readonly now: number;
      readonly field: "topic" | "value_path";
      readonly problem: string;
      readonly sampling: SamplingView;
    }
  | {
      readonly ok: true;
      readonly now: number;
      readonly matches: readonly TrialMatchView[];
      readonly matched: number;
      readonly withReadings: number;
      readonly converts: boolean;
      readonly sampling: SamplingView;
    };
