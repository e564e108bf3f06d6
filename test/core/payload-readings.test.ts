/**
 * Reading a payload at a rule's value paths takes shortcuts (keys alone without the walk, the
 * exclusions found once); what it reads must stay what the plain walk read, reading for reading.
 */
import { describe, expect, it } from "vitest";
import {
  MAX_READINGS_PER_PAYLOAD,
  parsePayload,
  readingsOf,
  type ParsedPayload,
  type PayloadReading,
  type PayloadReadings,
  type UnknownUnit,
} from "../../src/core/payload-readings.js";
import { jsonValue, textValue, type ReadingValue } from "../../src/core/reading-value.js";
import { unitNamed, type ReadingUnit } from "../../src/core/units.js";
import { parseValuePaths, type PathSegment, type ValuePath } from "../../src/core/value-path.js";

/* The reference: 0.2.0's walk, as it was. */

const NONE: PayloadReadings = { readings: [], leftOut: 0 };

function referenceReadingsOf(
  payload: ParsedPayload,
  paths: readonly ValuePath[],
  /** Whether the rule reads temperatures, so that a Tasmota `TempUnit` beside the value applies. */
  honourTempUnit: boolean,
): PayloadReadings {
  if (paths.length === 0) return whole(payload, undefined);
  const excluded = paths.filter((path) => path.excludes);
  for (const path of paths) {
    if (path.excludes) continue;
    const found =
      path.segments.length === 0
        ? whole(payload, path.unit, paths.length > 1)
        : atPath(payload, path, honourTempUnit, excluded);
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
    const value = jsonValue(node, walk.keys);
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

/**
 * Whether an exclusion's segments name these keys, or the object they are in (`!ESP32` leaves out
 * everything under ESP32), without regard to case, `*` for any.
 */
function matchesKeys(segments: readonly PathSegment[], keys: readonly string[]): boolean {
  if (segments.length > keys.length) return false;
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

/* Random payloads and value paths. */

/** A small deterministic generator, so that a failure can be reproduced. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

const KEYS = [
  "Temperature",
  "temperature",
  "TEMPERATURE",
  "AM2301",
  "am2301",
  "ESP32",
  "TempUnit",
  "0",
  "1",
  "a b",
];
const LEAVES: readonly unknown[] = [
  21.5,
  -0,
  0,
  1e308,
  "21.5",
  " 7 ",
  "ON",
  "null",
  "F",
  "C",
  "X",
  "",
  true,
  false,
  null,
];
const PATH_PARTS = ["*", "Temperature", "temperature", "AM2301", "ESP32", "0", "TempUnit", '["a b"]'];

function jsonOf(next: () => number, depth: number): unknown {
  const roll = next();
  if (depth >= 3 || roll < 0.35) return LEAVES[Math.floor(next() * LEAVES.length)];
  if (roll < 0.45) return Array.from({ length: Math.floor(next() * 3) }, () => jsonOf(next, depth + 1));
  const record: Record<string, unknown> = {};
  const count = Math.floor(next() * 5);
  for (let index = 0; index < count; index++)
    record[KEYS[Math.floor(next() * KEYS.length)] ?? "x"] = jsonOf(next, depth + 1);
  return record;
}

function pathsOf(next: () => number): ValuePath[] {
  for (;;) {
    const alternatives = Array.from({ length: 1 + Math.floor(next() * 3) }, () => {
      if (next() < 0.1) return "$";
      const keys = Array.from(
        { length: 1 + Math.floor(next() * 3) },
        () => PATH_PARTS[Math.floor(next() * PATH_PARTS.length)] ?? "x",
      );
      const text = keys.join(".").replaceAll(".[", "[");
      const roll = next();
      return roll < 0.2 ? `!${text}` : roll < 0.3 ? `${text} in °F` : text;
    });
    const parsed = parseValuePaths(alternatives.join(", "));
    if (parsed.ok) return parsed.value;
  }
}

function payloadOf(next: () => number): string {
  const roll = next();
  if (roll < 0.1) return String(LEAVES[Math.floor(next() * LEAVES.length)]);
  if (roll < 0.15) return '{"Temperature": ';
  const text = JSON.stringify(jsonOf(next, 0));
  return next() < 0.1 ? ` \n${text}` : text;
}

describe("readings of a payload", () => {
  it("are those the plain walk finds, for random payloads and value paths", () => {
    const next = random(3);
    for (let round = 0; round < 20_000; round++) {
      const payload = payloadOf(next);
      const paths = pathsOf(next);
      const honour = next() < 0.5;
      const parsed = parsePayload(payload);
      expect(parsed, payload).toEqual(referenceParse(payload));
      expect(
        readingsOf(parsed, paths, honour),
        `${payload} at ${paths.map((path) => path.text).join(", ")}`,
      ).toEqual(referenceReadingsOf(parsed, paths, honour));
    }
  });

  it("find as many readings as the walk under a * over a big object, and count the rest", () => {
    const big = Object.fromEntries(
      Array.from({ length: 100 }, (_, index) => [`s${index}`, { Temperature: index }]),
    );
    const parsed = parsePayload(JSON.stringify(big));
    const paths = parseValuePaths("*.Temperature, !s3");
    if (!paths.ok) throw new Error(paths.problem);
    const found = readingsOf(parsed, paths.value, false);
    expect(found).toEqual(referenceReadingsOf(parsed, paths.value, false));
    expect(found.readings).toHaveLength(MAX_READINGS_PER_PAYLOAD);
  });
});

function referenceParse(text: string): ParsedPayload {
  const first = text.trimStart().charAt(0);
  if (first !== "{" && first !== "[") return { kind: "plain", text };
  try {
    return { kind: "json", json: JSON.parse(text) as unknown };
  } catch {
    return { kind: "invalid-json" };
  }
}
