import { jsonValue, textValue, type ReadingValue } from "./reading-value.js";
import { unitNamed, type ReadingUnit } from "./units.js";
import type { PathSegment, ValuePath } from "./value-path.js";

/**
 * The most readings one payload may give one rule: a `*` over a 65 KB object of 5,000 keys
 * would otherwise expand into 5,000 readings per topic per read. The rest are counted, not kept.
 */
export const MAX_READINGS_PER_PAYLOAD = 64;

/** A payload parsed once per read for every rule that reads it; the tree is dropped after that topic. */
export type ParsedPayload =
  | { readonly kind: "json"; readonly json: unknown }
  | { readonly kind: "plain"; readonly text: string }
  | { readonly kind: "invalid-json" };

export function parsePayload(text: string): ParsedPayload {
  const first = text.trimStart().charAt(0);
  // Only objects and lists are looked into; a plain "21.5" or "ON" is the value itself.
  if (first !== "{" && first !== "[") return { kind: "plain", text };
  try {
    return { kind: "json", json: JSON.parse(text) as unknown };
  } catch {
    return { kind: "invalid-json" };
  }
}

/** One reading of a payload; `key` names where a `*` found it. */
export interface PayloadReading {
  readonly key: string | undefined;
  readonly value: ReadingValue;
  /** The unit the reading is in: said by the value path, or by Tasmota's `TempUnit`; else the rule's. */
  readonly unit: ReadingUnit | UnknownUnit | undefined;
}

/** A unit a device named that the add-on cannot convert (`"TempUnit":"X"`). */
export interface UnknownUnit {
  readonly unknown: string;
}

export interface PayloadReadings {
  readonly readings: readonly PayloadReading[];
  /** Readings past MAX_READINGS_PER_PAYLOAD. */
  readonly leftOut: number;
}

const NONE: PayloadReadings = Object.freeze({ readings: Object.freeze([]), leftOut: 0 });
const NO_PATHS: readonly ValuePath[] = Object.freeze([]);

/** A rule's `!` paths, worked out once per rule rather than at every source of every read. */
const exclusions = new WeakMap<readonly ValuePath[], readonly ValuePath[]>();
function exclusionsOf(paths: readonly ValuePath[]): readonly ValuePath[] {
  let found = exclusions.get(paths);
  if (found === undefined) {
    const excluding = paths.filter((path) => path.excludes);
    found = excluding.length === 0 ? NO_PATHS : excluding;
    exclusions.set(paths, found);
  }
  return found;
}

/**
 * The readings of a payload for a rule's value path alternatives: those of the first alternative
 * that finds a value. None when no alternative does (a Tasmota STATE message has no Temperature:
 * that is not an error, and such a source is not listed as stale).
 */
export function readingsOf(
  payload: ParsedPayload,
  paths: readonly ValuePath[],
  /** Whether the rule reads temperatures, so that a Tasmota `TempUnit` beside the value applies. */
  honourTempUnit: boolean,
): PayloadReadings {
  if (paths.length === 0) return whole(payload, undefined);
  const excluded = exclusionsOf(paths);
  for (const path of paths) {
    if (path.excludes) continue;
    const found =
      path.segments.length === 0
        ? whole(payload, path.unit)
        : atPath(payload, path, honourTempUnit, excluded);
    if (found.readings.length > 0) return found;
  }
  return NONE;
}

function whole(payload: ParsedPayload, unit: ReadingUnit | undefined): PayloadReadings {
  let value: ReadingValue;
  if (payload.kind === "plain") value = plainValue(payload.text);
  else if (payload.kind === "invalid-json") value = { kind: "unusable", why: "invalid JSON" };
  else value = jsonValue(payload.json);
  if (value.kind === "absent") return NONE;
  return { readings: [{ key: undefined, value, unit }], leftOut: 0 };
}

function plainValue(text: string): ReadingValue {
  const trimmed = text.trim();
  if (trimmed.startsWith('"')) {
    try {
      return jsonValue(JSON.parse(trimmed));
    } catch {
      return { kind: "unusable", why: "invalid JSON" };
    }
  }
  if (trimmed === "true" || trimmed === "false") return { kind: "boolean", value: trimmed === "true" };
  return textValue(trimmed);
}

function atPath(
  payload: ParsedPayload,
  path: ValuePath,
  honourTempUnit: boolean,
  excluded: readonly ValuePath[],
): PayloadReadings {
  // A plain payload (a Tasmota LWT's "Online") has no fields: nothing there, not an error.
  if (payload.kind === "plain") return NONE;
  if (payload.kind === "invalid-json")
    return {
      readings: [{ key: undefined, value: { kind: "unusable", why: "invalid JSON" }, unit: undefined }],
      leftOut: 0,
    };
  const unit = path.unit ?? (honourTempUnit ? tasmotaTempUnit(payload.json) : undefined);
  // The usual path, keys without `*` and nothing left out, is followed without a walk's bookkeeping.
  if (!path.hasWildcard && excluded.length === 0) {
    const node = atKeys(payload.json, path.segments);
    if (node === MISSING) return NONE;
    const value = jsonValue(node);
    return value.kind === "absent" ? NONE : { readings: [{ key: undefined, value, unit }], leftOut: 0 };
  }
  const walk: Walk = {
    segments: path.segments,
    excluded,
    found: [],
    leftOut: 0,
    unit,
    keys: [],
    wildKeys: [],
  };
  collect(payload.json, 0, walk);
  return walk.found.length === 0 && walk.leftOut === 0
    ? NONE
    : { readings: walk.found, leftOut: walk.leftOut };
}

/** One walk of a path through a payload: what it has found so far, and the keys it went through. */
interface Walk {
  readonly segments: readonly PathSegment[];
  readonly excluded: readonly ValuePath[];
  readonly found: PayloadReading[];
  leftOut: number;
  readonly unit: PayloadReading["unit"];
  /** Every key on the way, for exclusions; `wildKeys` only those a `*` chose, to name the reading. */
  readonly keys: string[];
  readonly wildKeys: string[];
}

function collect(node: unknown, index: number, walk: Walk): void {
  const segment = walk.segments[index];
  if (segment === undefined) {
    const value = jsonValue(node);
    if (value.kind === "absent" || walk.excluded.some((path) => matchesKeys(path.segments, walk.keys)))
      return;
    if (walk.found.length >= MAX_READINGS_PER_PAYLOAD) walk.leftOut += 1;
    else {
      const key = walk.wildKeys.length === 0 ? undefined : walk.wildKeys.join(".");
      walk.found.push({ key, value, unit: walk.unit });
    }
    return;
  }
  if (typeof node !== "object" || node === null) return;
  const record = node as Record<string, unknown>;
  if (segment.kind === "any") {
    for (const key of Object.keys(record)) {
      walk.keys.push(key);
      walk.wildKeys.push(key);
      collect(record[key], index + 1, walk);
      walk.wildKeys.pop();
      walk.keys.pop();
    }
    return;
  }
  const key = matchingKey(record, segment.key, segment.lower);
  if (key === undefined) return;
  walk.keys.push(key);
  collect(record[key], index + 1, walk);
  walk.keys.pop();
}

const MISSING = Symbol("missing");

/** The node at a path of keys, or MISSING when the payload has nothing there. */
function atKeys(json: unknown, segments: readonly PathSegment[]): unknown {
  let node = json;
  for (const segment of segments) {
    if (typeof node !== "object" || node === null || segment.kind !== "key") return MISSING;
    const record = node as Record<string, unknown>;
    const key = matchingKey(record, segment.key, segment.lower);
    if (key === undefined) return MISSING;
    node = record[key];
  }
  return node;
}

/** Whether an exclusion's segments name exactly these keys (without regard to case, `*` for any). */
function matchesKeys(segments: readonly PathSegment[], keys: readonly string[]): boolean {
  if (segments.length !== keys.length) return false;
  return segments.every(
    (segment, index) => segment.kind === "any" || segment.lower === keys[index]?.toLowerCase(),
  );
}

/** The object's key equal to `key` without regard to case: the exact spelling first, as it is the usual one. */
function matchingKey(record: Record<string, unknown>, key: string, lower: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(record, key)) return key;
  for (const candidate of Object.keys(record)) if (candidate.toLowerCase() === lower) return candidate;
  return undefined;
}

/** Tasmota says the unit of all its temperatures once, beside them: `"TempUnit":"F"`. */
function tasmotaTempUnit(json: unknown): ReadingUnit | UnknownUnit | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const record = json as Record<string, unknown>;
  const key = matchingKey(record, "TempUnit", "tempunit");
  const text = key === undefined ? undefined : record[key];
  if (typeof text !== "string") return undefined;
  return unitNamed(text) ?? { unknown: text };
}
