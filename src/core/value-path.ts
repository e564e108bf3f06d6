import { ABSENT, jsonValue, textValue, type ReadingValue } from "./reading-value.js";

/**
 * A dotted path into a JSON payload (`ENERGY.Power`, `*.Temperature`). A `*` segment stands
 * for any key, so one payload may carry several readings (Tasmota's DS18B20-1, DS18B20-2, …).
 */
export interface ValuePath {
  readonly text: string;
  readonly segments: readonly string[];
  readonly hasWildcard: boolean;
}

export function parseValuePath(
  text: string,
): { ok: true; value: ValuePath } | { ok: false; problem: string } {
  const segments = text.split(".");
  if (segments.some((segment) => segment.trim() === "")) {
    return { ok: false, problem: `"${text}" has an empty segment; write keys separated by single dots` };
  }
  return { ok: true, value: { text, segments, hasWildcard: segments.includes("*") } };
}

/** One reading found in a payload; `key` names where it was found when the path has a `*`. */
export interface ExtractedReading {
  readonly key: string | undefined;
  readonly value: ReadingValue;
}

/** JSON.parse's own nesting is bounded by the payload size limit applied before this is called. */
export type ParsedJson = { readonly ok: true; readonly json: unknown } | { readonly ok: false };

export function parseJson(text: string): ParsedJson {
  try {
    return { ok: true, json: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Readings of a payload without a `value_path`: the payload itself is the value. */
export function extractWhole(text: string): ReadingValue {
  const trimmed = text.trim();
  const first = trimmed.charAt(0);
  // Quoted strings, objects and lists are JSON; plain words and numbers are read as text.
  if (first === "{" || first === "[" || first === '"') {
    const parsed = parseJson(trimmed);
    return parsed.ok ? jsonValue(parsed.json) : { kind: "unusable", why: "not valid JSON" };
  }
  if (trimmed === "true" || trimmed === "false") return { kind: "boolean", value: trimmed === "true" };
  return textValue(trimmed);
}

/**
 * Readings at `path` in parsed JSON. A path that leads nowhere yields no reading (a Tasmota
 * STATE message carries no Temperature; that is not an error), except that a path without `*`
 * reports the payload as having no reading, so the source does not keep an older value.
 */
export function extractAtPath(json: unknown, path: ValuePath): ExtractedReading[] {
  const found: ExtractedReading[] = [];
  collect(json, path.segments, 0, [], found);
  if (found.length === 0 && !path.hasWildcard) return [{ key: undefined, value: ABSENT }];
  return found;
}

function collect(
  node: unknown,
  segments: readonly string[],
  index: number,
  keys: string[],
  found: ExtractedReading[],
) {
  if (index === segments.length) {
    found.push({ key: keys.length === 0 ? undefined : keys.join("."), value: jsonValue(node) });
    return;
  }
  if (typeof node !== "object" || node === null) return;
  const segment = segments[index] ?? "";
  const record = node as Record<string, unknown>;
  if (segment === "*") {
    for (const key of Object.keys(record)) {
      keys.push(key);
      collect(record[key], segments, index + 1, keys, found);
      keys.pop();
    }
  } else if (Object.prototype.hasOwnProperty.call(record, segment)) {
    collect(record[segment], segments, index + 1, keys, found);
  }
}
