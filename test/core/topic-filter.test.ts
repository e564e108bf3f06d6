import { describe, expect, it } from "vitest";
import { parseTopicFilter, parseTopicList, type TopicFilter } from "../../src/core/topic-filter.js";
import { TopicMatcher } from "../../src/core/topic-matcher.js";

function filter(text: string): TopicFilter {
  const parsed = parseTopicFilter(text);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.value;
}

function matches(filterText: string, topic: string): boolean {
  const matcher = new TopicMatcher<string>();
  matcher.add(filter(filterText), filterText);
  return matcher.match(topic).length > 0;
}

function capturesOf(filterText: string, topic: string): readonly string[] | undefined {
  const matcher = new TopicMatcher<string>();
  matcher.add(filter(filterText), filterText);
  return matcher.match(topic)[0]?.captures;
}

describe("parseTopicFilter", () => {
  it("accepts literals, + and # filling whole levels", () => {
    for (const text of ["a", "a/b", "+", "#", "a/+/b", "a/#", "+/+/#", "/", "a//b", "$SYS/#", "/+"]) {
      expect(parseTopicFilter(text).ok, text).toBe(true);
    }
  });

  it.each([
    ["", "empty"],
    ["a/b#", "whole level"],
    ["a/#/b", "last level"],
    ["#/a", "last level"],
    ["a+", "whole level"],
    ["a/b+/c", "whole level"],
    ["+#", "named wildcard"],
    ["++", "named wildcard"],
    ["+1room", "named wildcard"],
    ["+room-x", "named wildcard"],
  ])("rejects %j with a sentence", (text, fragment) => {
    const parsed = parseTopicFilter(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problem).toContain(fragment);
    expect(parsed.problem).not.toContain("\n");
    expect(parsed.problem.length).toBeGreaterThan(10);
  });

  it("rejects a filter naming the same wildcard twice", () => {
    const parsed = parseTopicFilter("a/+room/+room");
    expect(parsed).toMatchObject({ ok: false, problem: expect.stringContaining("twice") as unknown });
  });

  it("rejects a NUL character", () => {
    expect(parseTopicFilter("a/\u0000").ok).toBe(false);
  });

  it("rejects a filter over 65535 bytes", () => {
    expect(parseTopicFilter("a".repeat(65_536)).ok).toBe(false);
    expect(parseTopicFilter("a".repeat(65_535)).ok).toBe(true);
  });

  it("subscribes to named wildcards as plain +", () => {
    const parsed = filter("home/+floor/+room/#");
    expect(parsed.subscription).toBe("home/+/+/#");
    expect(parsed.captureNames).toEqual(["floor", "room"]);
    expect(parsed.text).toBe("home/+floor/+room/#");
  });

  it("does not capture plain +", () => {
    expect(filter("home/+/+room/temperature").captureNames).toEqual(["room"]);
    expect(filter("home/+/temperature").captureNames).toEqual([]);
  });
});

describe("parseTopicList", () => {
  it("splits comma lists and ignores blanks around commas", () => {
    const parsed = parseTopicList(" a/b , c/+ ,, d/# ");
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.filters.map((one) => one.text)).toEqual(["a/b", "c/+", "d/#"]);
  });

  it("rejects a list of only commas and blanks", () => {
    expect(parseTopicList(" , ,").ok).toBe(false);
  });

  it("reports the first invalid filter of a list", () => {
    const parsed = parseTopicList("a/b, a/#/b");
    expect(parsed).toMatchObject({ ok: false, problem: expect.stringContaining("a/#/b") as unknown });
  });

  it("rejects filters of one rule naming different wildcards", () => {
    const parsed = parseTopicList("home/+room/t, office/+desk/t");
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problem).toContain("same wildcards");
    expect(parseTopicList("home/+room/t, office/t").ok).toBe(false);
  });

  it("accepts the same wildcard names in a different order", () => {
    expect(parseTopicList("a/+x/+y, b/+y/+x").ok).toBe(true);
  });
});

describe("TopicMatcher", () => {
  it.each([
    ["a/b", "a/b", true],
    ["a/b", "a/c", false],
    ["a/b", "a/b/c", false],
    ["a/b", "a", false],
    ["+", "a", true],
    ["+", "a/b", false],
    ["+", "", true],
    ["+/+", "/a", true],
    ["+/b", "a/b", true],
    ["a/+", "a/b", true],
    ["a/+", "a/", true],
    ["a/+", "a", false],
    ["a/+/c", "a/b/c", true],
    ["a/+/c", "a/b/d", false],
    ["#", "a", true],
    ["#", "a/b/c", true],
    ["#", "/", true],
    ["a/#", "a", true],
    ["a/#", "a/b", true],
    ["a/#", "a/b/c", true],
    ["a/#", "ab", false],
    ["a/#", "b/a", false],
    ["a/+/#", "a/b", true],
    ["a/+/#", "a", false],
    ["+/#", "a", true],
    ["a//b", "a//b", true],
    ["a//b", "a/b", false],
    // Filters starting with a wildcard never match $-topics (MQTT 4.7.2)…
    ["#", "$SYS/broker", false],
    ["+/broker", "$SYS/broker", false],
    ["+", "$SYS", false],
    ["+/#", "$SYS/a", false],
    // …but a filter naming the $ level does.
    ["$SYS/#", "$SYS/broker/load", true],
    ["$SYS/#", "$SYS", true],
    ["$SYS/+", "$SYS/broker", true],
    ["$SYS/broker", "$SYS/broker", true],
    // A $ below the first level is an ordinary character.
    ["a/+", "a/$b", true],
    ["a/#", "a/$b/c", true],
  ])("%j against %j → %s", (filterText, topic, expected) => {
    expect(matches(filterText, topic)).toBe(expected);
  });

  it("captures named wildcards at every position, in name order", () => {
    expect(capturesOf("+a/x/+b", "1/x/2")).toEqual(["1", "2"]);
    expect(capturesOf("home/+/+room/temperature", "home/sensor1/kitchen/temperature")).toEqual(["kitchen"]);
    expect(capturesOf("home/+room/#", "home/hall")).toEqual(["hall"]);
    expect(capturesOf("home/+room", "home/")).toEqual([""]);
    expect(capturesOf("home/+/temperature", "home/hall/temperature")).toEqual([]);
  });

  it("reports every matching filter, including duplicates", () => {
    const matcher = new TopicMatcher<number>();
    ["a/b", "a/+", "a/#", "#", "+/+", "a/b", "b/#"].forEach((text, index) => {
      matcher.add(filter(text), index);
    });
    expect(matcher.size).toBe(7);
    expect(
      matcher
        .match("a/b")
        .map((one) => one.target)
        .sort(),
    ).toEqual([0, 1, 2, 3, 4, 5]);
    expect(matcher.match("c").map((one) => one.target)).toEqual([3]);
    expect(matcher.match("$x/b")).toEqual([]);
  });
});
