import { parsePayload, readingsOf, type PayloadReading } from "./payload-readings.js";
import { endsLikeAvailability } from "./readings-store.js";
import { isShortened, SAMPLED_PAYLOAD_BYTES, type SampledTopic } from "./topic-sample.js";
import { parseTopicList, type TopicFilter } from "./topic-filter.js";
import { TopicMatcher } from "./topic-matcher.js";
import { convert, unitNamed, type ReadingUnit } from "./units.js";
import { parseValuePaths, type ValuePath } from "./value-path.js";

/**
 * The rule tester: what a rule with this `topic`, `value_path` and `unit` would read from the
 * topics seen on the broker, found the way a read finds it (the same filters, exclusions, value
 * paths and unit conversion), so that a rule can be written without a restart.
 */
export interface TrialInput {
  readonly topic: string;
  readonly valuePath: string;
  readonly unit: string;
}

export type TrialResult =
  | { readonly ok: false; readonly field: "topic" | "value_path"; readonly problem: string }
  | {
      readonly ok: true;
      /** Sorted by topic; at most the limit asked for. */
      readonly matches: readonly TrialMatch[];
      /** Every sampled topic the filters match, excluded ones too. */
      readonly matched: number;
      /** How many of them give at least one reading. */
      readonly withReadings: number;
      /** Whether the rule's unit is one the add-on converts into. */
      readonly converts: boolean;
    };

export interface TrialMatch {
  readonly topic: string;
  /** The named wildcards' values, by name. */
  readonly captures: Readonly<Record<string, string>>;
  readonly receivedAt: number;
  /** Why the topic is not read although a filter matches it; then there are no readings. */
  readonly skipped: string | undefined;
  readonly readings: readonly TrialReading[];
  /** Readings past the limit per payload. */
  readonly leftOut: number;
}

export interface TrialReading {
  /** The topic, or `topic#key` where a `*` found several readings, as a read names the source. */
  readonly source: string;
  readonly kind: "number" | "text" | "boolean" | "unusable";
  /** After conversion into the rule's unit. */
  readonly value: number | string | boolean | undefined;
  /** The unit the value is in, when the path or the payload said one. */
  readonly unit: string | undefined;
  /** Why it cannot count: unusable, or in a unit that cannot be converted. */
  readonly why: string | undefined;
}

export const TRIAL_MATCHES_SHOWN = 200;

export function tryRule(
  input: TrialInput,
  sampled: Iterable<SampledTopic>,
  /** The whole latest payload, where the add-on keeps it (the sample keeps only a beginning). */
  fullPayloadOf: (topic: string) => string | undefined,
  limit = TRIAL_MATCHES_SHOWN,
): TrialResult {
  const topics = parseTopicList(input.topic);
  if (!topics.ok) return { ok: false, field: "topic", problem: topics.problem };
  let paths: readonly ValuePath[] = [];
  if (input.valuePath.trim() !== "") {
    const parsed = parseValuePaths(input.valuePath);
    if (!parsed.ok) return { ok: false, field: "value_path", problem: parsed.problem };
    paths = parsed.value;
  }
  const target = input.unit.trim() === "" ? undefined : unitNamed(input.unit);
  const matcher = new TopicMatcher<TopicFilter>();
  for (const filter of topics.value.filters) matcher.add(filter, filter);
  const exclusions = new TopicMatcher<TopicFilter>();
  for (const filter of topics.value.exclusions) exclusions.add(filter, filter);
  const captureNames = topics.value.filters[0]?.captureNames ?? [];

  const found: TrialMatch[] = [];
  let matched = 0;
  let withReadings = 0;
  for (const sample of sampled) {
    const matches = matcher.match(sample.topic);
    const first = matches[0];
    if (first === undefined) continue;
    matched += 1;
    const captures: Record<string, string> = {};
    first.target.captureNames.forEach((name, index) => {
      if (captureNames.includes(name)) captures[name] = first.captures[index] ?? "";
    });
    const excludedBy = exclusions.match(sample.topic)[0]?.target;
    const full = isShortened(sample) ? fullPayloadOf(sample.topic) : sample.payload;
    let skipped: string | undefined;
    if (excludedBy !== undefined) skipped = `left out by !${excludedBy.text}`;
    else if (endsLikeAvailability(sample.topic) && !matches.some((match) => match.literalLast))
      skipped = "a device's availability topic: read only by a filter that names it";
    else if (full === undefined)
      skipped = `its payload of ${sample.bytes} bytes is longer than the ${SAMPLED_PAYLOAD_BYTES} bytes the tester keeps`;
    const { readings, leftOut } =
      skipped === undefined && full !== undefined
        ? readingsOf(parsePayload(full), paths, target?.dimension === "temperature")
        : { readings: [], leftOut: 0 };
    const shown = readings.map((reading) => trialReading(sample.topic, reading, target));
    if (shown.length > 0) withReadings += 1;
    found.push({
      topic: sample.topic,
      captures,
      receivedAt: sample.receivedAt,
      skipped,
      readings: shown,
      leftOut,
    });
  }
  found.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  return { ok: true, matches: found.slice(0, limit), matched, withReadings, converts: target !== undefined };
}

function trialReading(topic: string, reading: PayloadReading, target: ReadingUnit | undefined): TrialReading {
  const source = reading.key === undefined ? topic : `${topic}#${reading.key}`;
  const value = reading.value;
  const from = reading.unit;
  const said = from === undefined ? undefined : "unknown" in from ? from.unknown : from.symbol;
  switch (value.kind) {
    case "number": {
      if (from === undefined || target === undefined)
        return { source, kind: "number", value: value.value, unit: said ?? target?.symbol, why: undefined };
      if ("unknown" in from || from.dimension !== target.dimension)
        return {
          source,
          kind: "number",
          value: value.value,
          unit: said,
          why: `${said ?? ""} cannot be converted to ${target.symbol}`,
        };
      const converted = Number(convert(value.value, from, target, false).toPrecision(12));
      return { source, kind: "number", value: converted, unit: target.symbol, why: undefined };
    }
    case "text":
    case "boolean":
      return { source, kind: value.kind, value: value.value, unit: undefined, why: undefined };
    case "unusable":
      return { source, kind: "unusable", value: undefined, unit: undefined, why: value.why };
    case "absent":
      return { source, kind: "unusable", value: undefined, unit: undefined, why: "no value" };
  }
}
