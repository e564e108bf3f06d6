/**
 * What one source says at a read time. Payloads arrive as any bytes; this is the one place
 * that decides what they mean, so that no aggregate ever sees NaN, Infinity or an object.
 */
export type ReadingValue =
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "text"; readonly value: string }
  | { readonly kind: "boolean"; readonly value: boolean }
  /** `null`, `nan`, `None`, `unknown`, `unavailable` or an empty payload: the source has no reading. */
  | { readonly kind: "absent" }
  /** Something no function can use (an object, an array, a non-finite number). */
  | { readonly kind: "unusable"; readonly why: string };

export const ABSENT: ReadingValue = Object.freeze({ kind: "absent" });

const NO_READING_WORDS = new Set(["", "null", "nan", "none", "unknown", "unavailable"]);

// Decimal numbers only: `Number()` would also accept "0x1F", "1_000" is rejected by it anyway,
// and "Infinity" must not become a reading.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export function numberValue(value: number): ReadingValue {
  if (!Number.isFinite(value)) return { kind: "unusable", why: "not a finite number" };
  // -0 would be published as "0" anyway; normalising keeps min/max/last honest.
  return { kind: "number", value: value === 0 ? 0 : value };
}

/** Interprets a piece of text: a device's plain payload, or a string inside a JSON payload. */
export function textValue(raw: string): ReadingValue {
  const text = raw.trim();
  // Numbers first: they are most payloads, and none of the words below is one.
  if (DECIMAL.test(text)) return numberValue(Number(text));
  if (NO_READING_WORDS.has(text.toLowerCase())) return ABSENT;
  return { kind: "text", value: text };
}

/** Interprets a value found in parsed JSON. */
export function jsonValue(value: unknown): ReadingValue {
  switch (typeof value) {
    case "number":
      return numberValue(value);
    case "string":
      return textValue(value);
    case "boolean":
      return { kind: "boolean", value };
    case "object":
      if (value === null) return ABSENT;
      return {
        kind: "unusable",
        why: Array.isArray(value) ? "a list, not a value" : "an object, not a value",
      };
    default:
      return { kind: "unusable", why: "not a value" };
  }
}

/** The text a binary function compares with `on_value`: numbers as written, booleans as true/false. */
export function comparableText(value: ReadingValue): string | undefined {
  switch (value.kind) {
    case "number":
      return String(value.value);
    case "text":
      return value.value.toLowerCase();
    case "boolean":
      return value.value ? "true" : "false";
    default:
      return undefined;
  }
}

/**
 * `on_value` in the form readings are compared in: "1.0" and "01" as the number 1, words in
 * lower case, so that a payload equal to what the user wrote always matches.
 */
export function onValueText(raw: string): string {
  return comparableText(textValue(raw)) ?? raw.trim().toLowerCase();
}
