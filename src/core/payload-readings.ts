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
  // Only objects and lists are looked into; a plain "21.5" or "ON" is the value itself.
  if (!startsAsJson(text)) return { kind: "plain", text };
  try {
    return { kind: "json", json: JSON.parse(text) as unknown };
  } catch {
    return { kind: "invalid-json" };
  }
}

/** Whether the text's first character past leading white space is `{` or `[`. */
function startsAsJson(text: string): boolean {
  const code = text.charCodeAt(0);
  if (code === OPEN_BRACE || code === OPEN_BRACKET) return true;
  // Any other printable ASCII character settles it without a trimmed copy; white space does not.
  if (code > SPACE && code < DELETE) return false;
  const first = text.trimStart().charAt(0);
  return first === "{" || first === "[";
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const SPACE = 0x20;
const DELETE = 0x7f;

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

/** Whether any alternative is an exclusion (`!…`): most rules have none. */
function hasExclusions(paths: readonly ValuePath[]): boolean {
  for (const path of paths) if (path.excludes) return true;
  return false;
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
  // The exclusions are looked for among all the alternatives, rather than gathered in a new list.
  const excluding = hasExclusions(paths);
  for (const path of paths) {
    if (path.excludes) continue;
    const found =
      path.segments.length === 0
        ? whole(payload, path.unit, paths.length > 1)
        : atPath(payload, path, honourTempUnit, excluding ? paths : undefined);
    if (found.readings.length > 0) return found;
  }
  return NONE;
}

function whole(payload: ParsedPayload, unit: ReadingUnit | undefined, fallback = false): PayloadReadings {
  // `state, $`: `$` is for plain payloads (Tasmota's ON); another device's JSON has no value here.
  if (fallback && payload.kind === "json" && typeof payload.json === "object" && payload.json !== null)
    return NONE;
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
  /** The alternatives, when some of them are exclusions. */
  alternatives: readonly ValuePath[] | undefined,
): PayloadReadings {
  // A plain payload (a Tasmota LWT's "Online") has no fields: nothing there, not an error.
  if (payload.kind === "plain") return NONE;
  if (payload.kind === "invalid-json")
    return {
      readings: [{ key: undefined, value: { kind: "unusable", why: "invalid JSON" }, unit: undefined }],
      leftOut: 0,
    };
  const unit = path.unit ?? (honourTempUnit ? tasmotaTempUnit(payload.json) : undefined);
  if (!path.hasWildcard && alternatives === undefined) {
    const found = atKeys(payload.json, path.segments);
    if (found === NOWHERE) return NONE;
    if (found !== WALK) {
      const value = jsonValue(found);
      return value.kind === "absent" ? NONE : { readings: [{ key: undefined, value, unit }], leftOut: 0 };
    }
  }
  // The key lists are scratch, empty after each walk (a push for each pop); emptied here all the same.
  WALK_KEYS.length = 0;
  WILD_KEYS.length = 0;
  const walk: Walk = {
    segments: path.segments,
    alternatives: alternatives ?? NO_PATHS,
    found: [],
    leftOut: 0,
    unit,
    keys: WALK_KEYS,
    wildKeys: WILD_KEYS,
  };
  collect(payload.json, 0, walk);
  return walk.found.length === 0 && walk.leftOut === 0
    ? NONE
    : { readings: walk.found, leftOut: walk.leftOut };
}

/** The path leads to no value. */
const NOWHERE = Symbol("nowhere");
/** The path needs the walk: it has a `*`, or leads to an object, whose advice names the keys on the way. */
const WALK = Symbol("walk");

/** What a path of keys alone leads to: the common case, without the walk's bookkeeping. */
function atKeys(json: unknown, segments: readonly PathSegment[]): unknown {
  let node = json;
  for (const segment of segments) {
    if (segment.kind !== "key") return WALK;
    if (typeof node !== "object" || node === null) return NOWHERE;
    const record = node as Record<string, unknown>;
    const key = matchingKey(record, segment.key, segment.lower);
    if (key === undefined) return NOWHERE;
    node = record[key];
  }
  return typeof node === "object" && node !== null && !Array.isArray(node) ? WALK : node;
}

const NO_PATHS: readonly ValuePath[] = Object.freeze([]);
/** The keys of the walk under way: one walk at a time, as reading is synchronous. */
const WALK_KEYS: string[] = [];
const WILD_KEYS: string[] = [];

/** One walk of a path through a payload: what it has found so far, and the keys it went through. */
interface Walk {
  readonly segments: readonly PathSegment[];
  /** Those that are exclusions leave out what they name. */
  readonly alternatives: readonly ValuePath[];
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
    const value = jsonValue(node, walk.keys);
    if (value.kind === "absent" || isExcluded(walk)) return;
    if (walk.found.length >= MAX_READINGS_PER_PAYLOAD) walk.leftOut += 1;
    else walk.found.push({ key: wildKeyOf(walk.wildKeys), value, unit: walk.unit });
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

function isExcluded(walk: Walk): boolean {
  for (const path of walk.alternatives)
    if (path.excludes && matchesKeys(path.segments, walk.keys)) return true;
  return false;
}

/** The name of a reading a `*` found: the keys the `*`s chose, joined by dots. */
function wildKeyOf(wildKeys: readonly string[]): string | undefined {
  if (wildKeys.length === 0) return undefined;
  return wildKeys.length === 1 ? wildKeys[0] : wildKeys.join(".");
}

/**
 * Whether an exclusion's segments name these keys, or the object they are in (`!ESP32` leaves out
 * everything under ESP32), without regard to case, `*` for any.
 */
function matchesKeys(segments: readonly PathSegment[], keys: readonly string[]): boolean {
  if (segments.length > keys.length) return false;
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index];
    const key = keys[index];
    if (segment === undefined || segment.kind === "any") continue;
    // The spelling of the path itself first: no lower-case copy of the key to make.
    if (key !== segment.key && key?.toLowerCase() !== segment.lower) return false;
  }
  return true;
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
