/**
 * MQTT topic filters as users write them in a rule's `topic`, with one extension:
 * a single-level wildcard may carry a name (`+room`) so that the rule fans out into
 * one entity per distinct value seen at that level.
 */

export type FilterLevel =
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "single"; readonly captureName: string | undefined }
  | { readonly kind: "multi" };

export interface TopicFilter {
  /** The filter as the user wrote it. */
  readonly text: string;
  /** The filter to subscribe with: named wildcards become plain `+`. */
  readonly subscription: string;
  readonly levels: readonly FilterLevel[];
  /** Names of the named wildcards, in level order. */
  readonly captureNames: readonly string[];
}

export type ParseResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

const CAPTURE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseTopicFilter(text: string): ParseResult<TopicFilter> {
  if (text.length === 0) return { ok: false, problem: "a topic filter cannot be empty" };
  if (text.includes("\u0000")) return { ok: false, problem: "a topic filter cannot contain a NUL character" };
  // MQTT limits topics to 65535 bytes; anything near that is a mistake, not a filter.
  if (Buffer.byteLength(text, "utf8") > 65535)
    return { ok: false, problem: "a topic filter is limited to 65535 bytes" };

  const parts = text.split("/");
  const levels: FilterLevel[] = [];
  const captureNames: string[] = [];
  for (const [index, part] of parts.entries()) {
    if (part === "#") {
      if (index !== parts.length - 1) {
        return { ok: false, problem: `"#" must be the last level of "${text}"` };
      }
      levels.push({ kind: "multi" });
    } else if (part.startsWith("+")) {
      const name = part.slice(1);
      if (name === "") {
        levels.push({ kind: "single", captureName: undefined });
      } else if (!CAPTURE_NAME.test(name)) {
        return {
          ok: false,
          problem: `"${part}" in "${text}": a named wildcard is "+" followed by a name of letters, digits and "_"`,
        };
      } else if (captureNames.includes(name)) {
        return { ok: false, problem: `the wildcard name "${name}" appears twice in "${text}"` };
      } else {
        captureNames.push(name);
        levels.push({ kind: "single", captureName: name });
      }
    } else if (part.includes("+") || part.includes("#")) {
      return { ok: false, problem: `"${part}" in "${text}": "+" and "#" must fill a whole level` };
    } else {
      levels.push({ kind: "literal", text: part });
    }
  }
  const subscription = levels
    .map((level) => (level.kind === "literal" ? level.text : level.kind === "single" ? "+" : "#"))
    .join("/");
  return { ok: true, value: { text, subscription, levels, captureNames } };
}

/** A rule's `topic`: the filters it reads, and the `!filters` whose topics it leaves out. */
export interface TopicList {
  readonly filters: readonly TopicFilter[];
  readonly exclusions: readonly TopicFilter[];
}

/**
 * Splits a rule's comma-separated `topic` into filters; blanks around commas are ignored, and a
 * filter starting with `!` excludes the topics it matches (`zigbee2mqtt/+, !zigbee2mqtt/bridge/#`).
 */
export function parseTopicList(text: string): ParseResult<TopicList> {
  const pieces = text
    .split(",")
    .map((piece) => piece.trim())
    .filter((piece) => piece !== "");
  const filters: TopicFilter[] = [];
  const exclusions: TopicFilter[] = [];
  for (const piece of pieces) {
    const excluded = piece.startsWith("!");
    const parsed = parseTopicFilter(excluded ? piece.slice(1).trim() : piece);
    if (!parsed.ok) return parsed;
    if (excluded && parsed.value.captureNames.length > 0) {
      return {
        ok: false,
        problem: `"${piece}": an exclusion leaves topics out and makes no entities; write its wildcards as plain + and #`,
      };
    }
    (excluded ? exclusions : filters).push(parsed.value);
  }
  if (filters.length === 0) {
    return {
      ok: false,
      problem:
        exclusions.length === 0
          ? "needs at least one topic filter"
          : "needs at least one topic filter to read, besides the exclusions (!…)",
    };
  }
  const [first, ...rest] = filters;
  const names = [...(first?.captureNames ?? [])].sort().join(",");
  for (const other of rest) {
    if ([...other.captureNames].sort().join(",") !== names) {
      return {
        ok: false,
        problem: `every filter of a rule must name the same wildcards ("${first?.text ?? ""}" and "${other.text}" differ)`,
      };
    }
  }
  return { ok: true, value: { filters, exclusions } };
}
