import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseTopicFilter, type TopicFilter } from "../../src/core/topic-filter.js";
import { TopicMatcher } from "../../src/core/topic-matcher.js";

const TOPIC_LEVELS = ["a", "b", "$x", ""] as const;
const FILTER_LEVELS = [...TOPIC_LEVELS, "+", "+", "+n"] as const;

/** MQTT matching written the obvious way, level by level; returns the named captures or undefined. */
function naiveMatch(filterText: string, topic: string): string[] | undefined {
  const filterLevels = filterText.split("/");
  const topicLevels = topic.split("/");
  const first = filterLevels[0] ?? "";
  if (topic.startsWith("$") && (first.startsWith("+") || first === "#")) return undefined;
  const captures: string[] = [];
  for (let index = 0; index < filterLevels.length; index += 1) {
    const level = filterLevels[index] ?? "";
    if (level === "#") return captures; // matches the parent level and everything below
    if (index >= topicLevels.length) return undefined;
    const topicLevel = topicLevels[index] ?? "";
    if (level.startsWith("+")) {
      if (level.length > 1) captures.push(topicLevel);
    } else if (level !== topicLevel) {
      return undefined;
    }
  }
  return filterLevels.length === topicLevels.length ? captures : undefined;
}

/** Filters over a small alphabet; named wildcards get distinct names so the filter is valid. */
const filterArb = fc
  .tuple(fc.array(fc.constantFrom(...FILTER_LEVELS), { minLength: 0, maxLength: 4 }), fc.boolean())
  .filter(([levels, multi]) => levels.length > 0 || multi)
  .map(([levels, multi]) => {
    let named = 0;
    const parts = levels.map((level) => (level === "+n" ? `+n${named++}` : level));
    if (multi) parts.push("#");
    return parts.join("/");
  })
  .filter((text) => text !== "");

const topicArb = fc
  .array(fc.constantFrom(...TOPIC_LEVELS), { minLength: 1, maxLength: 5 })
  .map((levels) => levels.join("/"))
  .filter((topic) => topic !== "");

function parsed(text: string): TopicFilter {
  const result = parseTopicFilter(text);
  if (!result.ok) throw new Error(`${text}: ${result.problem}`);
  return result.value;
}

describe("TopicMatcher against a naive reference matcher", () => {
  it("finds exactly the filters the reference matches, with the same captures", () => {
    fc.assert(
      fc.property(
        fc.array(filterArb, { minLength: 1, maxLength: 12 }),
        fc.array(topicArb, { maxLength: 8 }),
        (filters, topics) => {
          const matcher = new TopicMatcher<number>();
          filters.forEach((text, index) => {
            matcher.add(parsed(text), index);
          });
          for (const topic of topics) {
            const actual = matcher
              .match(topic)
              .map((found) => ({ index: found.target, captures: [...found.captures] }))
              .sort((x, y) => x.index - y.index);
            const expected = filters.flatMap((text, index) => {
              const captures = naiveMatch(text, topic);
              return captures === undefined ? [] : [{ index, captures }];
            });
            expect(actual, `topic ${JSON.stringify(topic)}`).toEqual(expected);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("parses every well-formed filter and subscribes with plain wildcards", () => {
    fc.assert(
      fc.property(filterArb, (text) => {
        const filter = parsed(text);
        expect(filter.subscription).toBe(text.replace(/\+n\d+/g, "+"));
        expect(filter.levels).toHaveLength(text.split("/").length);
      }),
    );
  });

  it("rejects any level mixing + or # with other characters", () => {
    const badLevel = fc
      .tuple(fc.constantFrom("a", "b", ""), fc.constantFrom("+", "#"), fc.constantFrom("a", "", "#"))
      .map(([before, wildcard, after]) => `${before}${wildcard}${after}`)
      .filter((level) => level !== "+" && level !== "#" && !/^\+[A-Za-z_][A-Za-z0-9_]*$/.test(level));
    fc.assert(
      fc.property(topicArb, badLevel, topicArb, (before, level, after) => {
        expect(parseTopicFilter(`${before}/${level}/${after}`).ok).toBe(false);
      }),
    );
  });
});
