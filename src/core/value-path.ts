import { unitNamed, type ReadingUnit } from "./units.js";

/**
 * Where a rule finds its value in a payload. `value_path` lists alternatives, comma-separated,
 * tried in order for each source: `*.Temperature, temperature, tC`. Each alternative is
 *
 * - `$`: the payload itself (a Tasmota `POWER` → `ON`);
 * - keys separated by dots, matched without regard to case (`ENERGY.Power`); `*` stands for any
 *   key or list element, so one payload may carry several readings (DS18B20-1, DS18B20-2, …);
 *   a key containing a dot, a comma or a space is quoted in brackets: `PMS5003["PM2.5"]`;
 * - optionally followed by `in <unit>` when that source reports in another unit than the
 *   rule's: `temperature_F in °F`;
 * - or, starting with `!`, readings to leave out whichever alternative finds them: a Tasmota on an
 *   ESP32 reports its chip's temperature beside the room's, `*.Temperature, !ESP32.Temperature`.
 */
export interface ValuePath {
  /** The alternative as written, for messages. */
  readonly text: string;
  /** Empty for `$`. */
  readonly segments: readonly PathSegment[];
  readonly hasWildcard: boolean;
  /** The unit this alternative's readings are in, when the user said so. */
  readonly unit: ReadingUnit | undefined;
  /** `!path`: not an alternative, but readings to leave out. */
  readonly excludes: boolean;
}

export type PathSegment =
  { readonly kind: "key"; readonly key: string; readonly lower: string } | { readonly kind: "any" };

export type ParsedValuePaths =
  { readonly ok: true; readonly value: ValuePath[] } | { readonly ok: false; readonly problem: string };

/** Parses a whole `value_path`: its alternatives, in order. */
export function parseValuePaths(text: string): ParsedValuePaths {
  const paths: ValuePath[] = [];
  const scanner = new Scanner(text);
  for (;;) {
    const parsed = parseAlternative(scanner);
    if (!parsed.ok) return parsed;
    paths.push(parsed.value);
    scanner.skipSpaces();
    if (scanner.done()) {
      if (paths.every((path) => path.excludes))
        return { ok: false, problem: `"${text}" only leaves readings out (!…); add a path to read` };
      return { ok: true, value: paths };
    }
    if (!scanner.take(",")) return { ok: false, problem: `unexpected "${scanner.rest()}" in "${text}"` };
  }
}

function parseAlternative(scanner: Scanner): { ok: true; value: ValuePath } | { ok: false; problem: string } {
  scanner.skipSpaces();
  const excludes = scanner.take("!");
  const start = scanner.position;
  const segments: PathSegment[] = [];
  if (!excludes && scanner.take("$")) {
    // `$` alone: the payload itself.
  } else {
    for (;;) {
      if (scanner.peek() === "[") {
        const quoted = scanner.quotedKey();
        if (!quoted.ok) return quoted;
        segments.push(keySegment(quoted.value));
      } else {
        const word = scanner.word();
        if (word === "") {
          const at = scanner.position + 1;
          if (scanner.done() || [".", ",", " "].includes(scanner.peek()))
            return {
              ok: false,
              problem: `"${scanner.text}" has an empty key at position ${at}; write keys separated by single dots`,
            };
          return { ok: false, problem: `expected a key at position ${at}, found "${scanner.peek()}"` };
        }
        segments.push(word === "*" ? { kind: "any" } : keySegment(word));
      }
      if (scanner.peek() === "[") continue;
      if (!scanner.take(".")) break;
    }
  }
  const pathText = scanner.slice(start).trim();
  let unit: ReadingUnit | undefined;
  scanner.skipSpaces();
  if (!excludes && scanner.takeWord("in")) {
    scanner.skipSpaces();
    const unitText = scanner.word();
    unit = unitNamed(unitText);
    if (unit === undefined) {
      return {
        ok: false,
        problem: `"${pathText} in ${unitText}": the add-on converts °C, °F, K, W, kW, MW, Wh, kWh and MWh, not "${unitText}"`,
      };
    }
  }
  return {
    ok: true,
    value: {
      text: scanner.slice(start).trim(),
      segments,
      hasWildcard: segments.some((segment) => segment.kind === "any"),
      unit,
      excludes,
    },
  };
}

function keySegment(key: string): PathSegment {
  return { kind: "key", key, lower: key.toLowerCase() };
}

/** Characters that end a plain key: the path's own punctuation and blanks. */
const KEY_END = new Set([".", ",", "[", "]", " ", "\t", "\n"]);

class Scanner {
  position = 0;
  constructor(readonly text: string) {}

  done(): boolean {
    return this.position >= this.text.length;
  }
  peek(): string {
    return this.text.charAt(this.position);
  }
  rest(): string {
    return this.text.slice(this.position);
  }
  slice(from: number): string {
    return this.text.slice(from, this.position);
  }
  take(char: string): boolean {
    if (this.peek() !== char) return false;
    this.position += 1;
    return true;
  }
  skipSpaces(): void {
    while (/\s/.test(this.peek()) && !this.done()) this.position += 1;
  }
  /** The keyword `word` followed by a blank, as in `temperature_F in °F`. */
  takeWord(word: string): boolean {
    const after = this.text.charAt(this.position + word.length);
    if (!this.text.startsWith(word, this.position) || !/\s/.test(after)) return false;
    this.position += word.length;
    return true;
  }
  word(): string {
    const start = this.position;
    while (!this.done() && !KEY_END.has(this.peek())) this.position += 1;
    return this.text.slice(start, this.position);
  }
  /** `["PM2.5"]` or `['PM2.5']`, with `\` escaping the quote. */
  quotedKey(): { ok: true; value: string } | { ok: false; problem: string } {
    const start = this.position;
    this.position += 1;
    const quote = this.peek();
    if (quote !== '"' && quote !== "'")
      return {
        ok: false,
        problem: `a bracket at position ${start + 1} must hold a quoted key, like ["PM2.5"]`,
      };
    this.position += 1;
    let key = "";
    while (!this.done() && this.peek() !== quote) {
      if (this.peek() === "\\") this.position += 1;
      key += this.peek();
      this.position += 1;
    }
    if (!this.take(quote) || !this.take("]"))
      return { ok: false, problem: `the bracket at position ${start + 1} is not closed: write ["key"]` };
    if (key === "") return { ok: false, problem: `the key at position ${start + 1} is empty` };
    return { ok: true, value: key };
  }
}
