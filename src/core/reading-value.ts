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

/** Powers of ten a double holds exactly: a quotient by one of them is rounded once, as Number() rounds. */
const EXACT_POWERS_OF_TEN = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/** Digits whose integer a double holds exactly (10^15 < 2^53). */
const EXACT_DIGITS = 15;

export function numberValue(value: number): ReadingValue {
  if (!Number.isFinite(value)) return { kind: "unusable", why: "not a finite number" };
  // -0 would be published as "0" anyway; normalising keeps min/max/last honest.
  return { kind: "number", value: value === 0 ? 0 : value };
}

/** Interprets a piece of text: a device's plain payload, or a string inside a JSON payload. */
export function textValue(raw: string): ReadingValue {
  const text = raw.trim();
  // Numbers first: they are most payloads, and none of the words below is one.
  const number = decimalNumber(text);
  if (number !== undefined) return numberValue(number);
  if (NO_READING_WORDS.has(text.toLowerCase())) return ABSENT;
  return { kind: "text", value: text };
}

/**
 * The number a decimal text says, or undefined when it is not one: `[+-]` digits, an optional
 * point and fraction (`5.`, `.5`), an optional exponent (`e-3`). Decimal only, as `Number()`
 * would also take "0x1F", "0b1" and "Infinity" (and "1_000" is no number to either). Read here
 * rather than with a regular expression and Number(), which were a tenth of a read's time.
 */
function decimalNumber(text: string): number | undefined {
  const length = text.length;
  let index = 0;
  let negative = false;
  let code = text.charCodeAt(0);
  if (code === PLUS || code === MINUS) {
    negative = code === MINUS;
    code = text.charCodeAt(++index);
  }
  let digits = 0;
  let fractionDigits = 0;
  let mantissa = 0;
  while (isDigit(code)) {
    mantissa = mantissa * 10 + (code - ZERO);
    digits += 1;
    code = text.charCodeAt(++index);
  }
  if (code === POINT) {
    code = text.charCodeAt(++index);
    while (isDigit(code)) {
      mantissa = mantissa * 10 + (code - ZERO);
      digits += 1;
      fractionDigits += 1;
      code = text.charCodeAt(++index);
    }
  }
  if (digits === 0) return undefined;
  if (index === length) {
    // Few enough digits that the integer is exact: one rounding, the one Number() makes.
    if (digits <= EXACT_DIGITS) {
      const magnitude = mantissa / (EXACT_POWERS_OF_TEN[fractionDigits] ?? 1);
      return negative ? -magnitude : magnitude;
    }
    return Number(text);
  }
  if (code !== LOWER_E && code !== UPPER_E) return undefined;
  code = text.charCodeAt(++index);
  if (code === PLUS || code === MINUS) code = text.charCodeAt(++index);
  if (!isDigit(code)) return undefined;
  while (isDigit(code)) code = text.charCodeAt(++index);
  return index === length ? Number(text) : undefined;
}

const ZERO = 48;
const NINE = 57;
const PLUS = 43;
const MINUS = 45;
const POINT = 46;
const LOWER_E = 101;
const UPPER_E = 69;

function isDigit(code: number): boolean {
  // NaN past the end is no digit.
  return code >= ZERO && code <= NINE;
}

const NO_KEYS: readonly string[] = Object.freeze([]);

/**
 * Interprets a value found in parsed JSON; `path` is the keys that led to it, for the advice
 * when it is an object.
 */
export function jsonValue(value: unknown, path: readonly string[] = NO_KEYS): ReadingValue {
  switch (typeof value) {
    case "number":
      return numberValue(value);
    case "string":
      return textValue(value);
    case "boolean":
      return { kind: "boolean", value };
    case "object":
      if (value === null) return ABSENT;
      return Array.isArray(value)
        ? { kind: "unusable", why: "a list, not a value" }
        : { kind: "unusable", why: objectProblem(value as Record<string, unknown>, path) };
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

/** Keys of an object named in a message, at most. */
const KEYS_SHOWN = 5;

/**
 * "an object, not a value", with what would help: the keys it has, and a value path that picks
 * one of its values (the first that is a number, else the first that is a value).
 */
function objectProblem(record: Record<string, unknown>, path: readonly string[]): string {
  const keys = Object.keys(record);
  if (keys.length === 0) return "an empty object, not a value";
  const shown = keys
    .slice(0, KEYS_SHOWN)
    .map((key) => JSON.stringify(key.length > 40 ? `${key.slice(0, 39)}…` : key));
  const more = keys.length > KEYS_SHOWN ? ` and ${keys.length - KEYS_SHOWN} more` : "";
  const pick = suggestedKeys(record);
  const advice = pick === undefined ? "" : `; a value_path such as ${pathText([...path, ...pick])} picks one`;
  return `an object with the keys ${shown.join(", ")}${more}, not a value${advice}`;
}

/** The way to a number in the object, one or two levels down; else to its first plain value. */
function suggestedKeys(record: Record<string, unknown>): string[] | undefined {
  const entries = Object.entries(record);
  const number = entries.find(([, value]) => typeof value === "number");
  if (number !== undefined) return [number[0]];
  for (const [key, value] of entries) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) continue;
    const inner = Object.entries(value as Record<string, unknown>).find(
      ([, each]) => typeof each === "number",
    );
    if (inner !== undefined) return [key, inner[0]];
  }
  const plain = entries.find(([, value]) => typeof value === "string" || typeof value === "boolean");
  return plain === undefined ? undefined : [plain[0]];
}

/** Keys as a value path writes them: dots between, brackets and quotes around a key with a dot or a space. */
function pathText(keys: readonly string[]): string {
  return keys
    .map((key, index) =>
      /^[A-Za-z0-9_-]+$/.test(key) ? `${index === 0 ? "" : "."}${key}` : `[${JSON.stringify(key)}]`,
    )
    .join("");
}
