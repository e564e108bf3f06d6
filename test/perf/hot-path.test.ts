/**
 * Regression guard for the message path (issue 6), on counts rather than time: how often the
 * matcher runs, how many trie nodes one match visits, how often a message touches a rule or
 * decodes its payload, and how many elements of lists, maps and sets it walks. A change that makes
 * the per-message work grow with the number of rules or of sources (a linear scan, a match on
 * every message, a second decode) fails here on any machine.
 * `npm run bench` measures the same path in time and memory against a bare MQTT.js subscriber.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ingestMessage } from "../../src/app/message-intake.js";
import { UpdateScheduler } from "../../src/app/update-scheduler.js";
import { Evaluation } from "../../src/core/evaluation.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import type { Rule } from "../../src/core/rule.js";
import { parseTopicFilter } from "../../src/core/topic-filter.js";
import { TopicMatcher } from "../../src/core/topic-matcher.js";
import { compile, compileAll, type RuleJson } from "../support/rules.js";

const T0 = 1_700_000_000_000;
const RULES = 500;
const TOPICS = 100;
const MESSAGES = 10_000;

/** Five kinds of rule in turn: `+`, named `+room`, literal with a value_path, `#`, two filters. */
function manyRules(count: number): RuleJson[] {
  return Array.from({ length: count }, (_, index): RuleJson => {
    switch (index % 5) {
      case 0:
        return { name: `Mean ${index}`, topic: `home/+/room${index}/temperature`, function: "mean" };
      case 1:
        return {
          name: `{room} warmest ${index}`,
          topic: `zone${index}/+/+room/temperature`,
          function: "max",
        };
      case 2:
        return {
          name: `Tasmota ${index}`,
          topic: `tele/dev${index}/SENSOR`,
          value_path: "AM2301.Temperature",
          function: "last",
        };
      case 3:
        return { name: `Everything ${index}`, topic: `zone${index}/#`, function: "count" };
      default:
        return {
          name: `Plugs ${index}`,
          topic: `plug/+/room${index}/power, plug/+/room${index}/energy`,
          function: "sum",
        };
    }
  });
}

/** Topic `index` (< 100) lands on the rules of kinds 0–3 with the same number. */
function topicOf(index: number): { topic: string; payload: string } {
  const rule = 5 * index + (index % 4);
  switch (index % 4) {
    case 0:
      return { topic: `home/dev${index}/room${rule}/temperature`, payload: "21.5" };
    case 1:
      return { topic: `zone${rule}/dev${index}/kitchen/temperature`, payload: "22" };
    case 2:
      return { topic: `tele/dev${rule}/SENSOR`, payload: '{"AM2301":{"Temperature":20.1,"Humidity":40}}' };
    default:
      return { topic: `zone${rule}/a/b`, payload: "ON" };
  }
}

function storeWith(ruleCount: number, wrap: (rule: Rule) => Rule = (rule) => rule): ReadingsStore {
  return new ReadingsStore(compile(manyRules(ruleCount), { max_sources: 10_000 }).map(wrap));
}

/** Feeds `count` messages round-robin over the topics, through the add-on's own intake. */
function ingest(store: ReadingsStore, count: number, payloads?: Buffer[]): void {
  const messages = Array.from({ length: TOPICS }, (_, index) => topicOf(index));
  for (let sent = 0; sent < count; sent += 1) {
    const message = messages[sent % TOPICS];
    if (message === undefined) continue;
    const payload = Buffer.from(message.payload);
    payloads?.push(payload);
    ingestMessage(store, message.topic, payload, T0 + sent);
  }
}

/** Wraps a rule so that every property read of it is counted in `reads`. */
function countingReads(reads: { count: number }): (rule: Rule) => Rule {
  return (rule) =>
    new Proxy(rule, {
      get(target, property, receiver) {
        reads.count += 1;
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the message path", () => {
  it("matches each topic against the rules once, not once per message", () => {
    const match = vi.spyOn(TopicMatcher.prototype, "match");
    const store = storeWith(RULES);
    ingest(store, MESSAGES);
    // Every topic was admitted (the guard is not passing vacuously) …
    expect(store.trackedTopicCount).toBe(TOPICS);
    // … and the matcher ran once per new topic: the 9,900 messages on known topics skipped it.
    expect(match.mock.calls.length).toBeLessThanOrEqual(TOPICS);
  });

  it("does not look at any rule for a topic it has seen, whatever the number of rules", () => {
    const reads = { count: 0 };
    const counted = countingReads(reads);
    for (const ruleCount of [5, RULES]) {
      const store = storeWith(ruleCount, counted);
      ingest(store, TOPICS); // first sight of every topic: admitting reads rules, as it should
      reads.count = 0;
      ingest(store, MESSAGES - TOPICS);
      expect(reads.count, `rule properties read for 9,900 messages with ${ruleCount} rules`).toBe(0);
    }
  });

  it("decodes each payload once and keeps the text, not the buffer", () => {
    const toString = vi.spyOn(Buffer.prototype, "toString");
    const store = storeWith(RULES);
    const payloads: Buffer[] = [];
    ingest(store, MESSAGES, payloads);
    const ours = new Set<unknown>(payloads);
    const decodes = toString.mock.contexts.filter((context) => ours.has(context)).length;
    expect(decodes).toBe(MESSAGES);
    const kept = store.snapshot();
    expect(kept).toHaveLength(TOPICS);
    expect(kept.every((reading) => typeof reading.payload === "string")).toBe(true);
  });
});

describe("the message path with the features of 0.2.0", () => {
  /** Rules on change, with exclusions, value-path alternatives, units and device availability. */
  function featureRules(count: number): RuleJson[] {
    return Array.from({ length: count }, (_, index): RuleJson => {
      switch (index % 3) {
        case 0:
          return {
            name: `Windows ${index}`,
            topic: `z${index}/+, !z${index}/bridge/#`,
            value_path: "contact, state, $",
            function: "any",
            on_value: "false, open",
          };
        case 1:
          return {
            name: `Temperature ${index}`,
            topic: `tele${index}/+/SENSOR`,
            value_path: "*.Temperature, !ESP32.Temperature, temperature_F in °F",
            function: "mean",
            unit: "°C",
            update: "change",
          };
        default:
          return {
            name: `Lights ${index}`,
            topic: `l${index}/+/POWER`,
            value_path: "state, $",
            function: "count_on",
          };
      }
    });
  }

  it("reads no rule and matches no topic again per message, whatever the number of rules", () => {
    const reads = { count: 0 };
    const counted = countingReads(reads);
    const messages = (ruleCount: number) =>
      Array.from({ length: 30 }, (_, index) => {
        const rule = (index * 7) % ruleCount;
        switch (rule % 3) {
          case 0:
            return index % 2 === 0
              ? { topic: `z${rule}/window${index}`, payload: '{"contact":false}' }
              : { topic: `z${rule}/window${index}/availability`, payload: "online" };
          case 1:
            return { topic: `tele${rule}/dev${index}/SENSOR`, payload: '{"AM2301":{"Temperature":21}}' };
          default:
            return { topic: `l${rule}/dev${index}/POWER`, payload: "ON" };
        }
      });
    for (const ruleCount of [6, 600]) {
      const store = new ReadingsStore(compile(featureRules(ruleCount), { max_sources: 10_000 }).map(counted));
      const all = messages(ruleCount);
      for (const { topic, payload } of all) ingestMessage(store, topic, Buffer.from(payload), T0);
      store.read(T0); // links sources to their devices' availability topics, as a read does
      store.readChanged(T0);
      const match = vi.spyOn(TopicMatcher.prototype, "match");
      reads.count = 0;
      for (let sent = 0; sent < 3_000; sent += 1) {
        const message = all[sent % all.length];
        if (message !== undefined)
          ingestMessage(store, message.topic, Buffer.from(message.payload), T0 + sent);
      }
      expect(reads.count, `rule properties read per message with ${ruleCount} rules`).toBe(0);
      expect(match.mock.calls.length).toBe(0);
      match.mockRestore();
    }
  });

  it("walks no list of rules or sources per message, whatever their number, updates on change included", () => {
    const walkedPerMessage: number[] = [];
    for (const [ruleCount, otherSources] of [
      [6, 30],
      [600, 3_000],
    ] as const) {
      // And a formula over each window rule and the temperatures beside it, recomputed on change.
      const formulas = Array.from({ length: ruleCount / 3 }, (_, group): RuleJson => ({
        name: `Cold and open ${group}`,
        function: "formula",
        formula: `temperature_${group * 3 + 1} < 19 and windows_${group * 3}`,
      }));
      const rules = compileAll([...featureRules(ruleCount), ...formulas], { max_sources: 10_000 });
      const store = new ReadingsStore(rules);
      const updates = new UpdateScheduler({
        evaluation: new Evaluation(store, rules),
        rules,
        now: () => T0,
        publish: () => Promise.resolve(),
        onFindings: () => undefined,
      });
      // Sources of the same rules that send nothing while the messages below are counted.
      for (let index = 0; index < otherSources; index += 1) {
        const rule = index % ruleCount;
        const topic = rule % 3 === 1 ? `tele${rule}/quiet${index}/SENSOR` : `z${rule}/quiet${index}`;
        ingestMessage(store, topic, Buffer.from('{"contact":true,"AM2301":{"Temperature":20}}'), T0);
        if (index % 2 === 0 && rule % 3 === 0)
          ingestMessage(store, `z${rule}/quiet${index}/availability`, Buffer.from("online"), T0);
      }
      // The same 30 devices in both homes: windows with their availability, Tasmotas, lights.
      const messages = Array.from({ length: 30 }, (_, index) => {
        switch (index % 3) {
          case 0:
            return index % 2 === 0
              ? { topic: `z0/window${index}`, payload: '{"contact":false}' }
              : {
                  topic: `z0/window${index - 3}/availability`,
                  payload: index % 4 === 1 ? "offline" : "online",
                };
          case 1:
            return { topic: `tele1/dev${index}/SENSOR`, payload: '{"AM2301":{"Temperature":21}}' };
          default:
            return { topic: `l2/dev${index}/POWER`, payload: "ON" };
        }
      }).map(({ topic, payload }) => ({ topic, payload: Buffer.from(payload) }));
      for (const { topic, payload } of messages) ingestMessage(store, topic, payload, T0);
      store.read(T0); // links sources to their devices' availability topics, as a read does
      store.readChanged(T0);
      updates.poke();
      const walked = elementsWalked(() => {
        for (let sent = 0; sent < 3_000; sent += 1) {
          const message = messages[sent % messages.length];
          if (message === undefined) continue;
          ingestMessage(store, message.topic, message.payload, T0 + sent);
          updates.poke();
        }
      });
      updates.stop();
      walkedPerMessage.push(walked / 3_000);
    }
    // A group or two per message, and a device's few dependents: the same in a home 100 times larger.
    expect(walkedPerMessage[0]).toBeGreaterThan(0);
    expect(walkedPerMessage[1]).toBe(walkedPerMessage[0]);
    expect(walkedPerMessage[1]).toBeLessThan(5);
  });
});

/**
 * Counts the elements walked while `run` runs: every step of an iterator of a Map, a Set or an
 * array (for…of, spreads, Array.from), and the length of every array a method like filter, some or
 * indexOf goes over. A scan of all rules or all sources shows up as thousands of them.
 */
function elementsWalked(run: () => void): number {
  let walked = 0;
  const restores: (() => void)[] = [];
  const replace = (
    owner: object,
    key: PropertyKey,
    make: (original: (...args: unknown[]) => unknown) => unknown,
  ) => {
    const record = owner as Record<PropertyKey, (...args: unknown[]) => unknown>;
    const original = record[key];
    if (original === undefined) return;
    Object.defineProperty(owner, key, { value: make(original), configurable: true, writable: true });
    restores.push(() =>
      Object.defineProperty(owner, key, { value: original, configurable: true, writable: true }),
    );
  };
  const counting = (original: (...args: unknown[]) => unknown) =>
    function (this: unknown, ...args: unknown[]) {
      const inner = original.apply(this, args) as Iterator<unknown>;
      const iterator: IterableIterator<unknown> = {
        next() {
          const step = inner.next();
          if (step.done !== true) walked += 1;
          return step;
        },
        [Symbol.iterator]() {
          return iterator;
        },
      };
      return iterator;
    };
  for (const prototype of [Map.prototype, Set.prototype, Array.prototype])
    for (const key of ["values", "keys", "entries", Symbol.iterator]) replace(prototype, key, counting);
  for (const name of [
    "forEach",
    "map",
    "filter",
    "some",
    "every",
    "find",
    "findIndex",
    "includes",
    "indexOf",
    "reduce",
    "flatMap",
  ])
    replace(
      Array.prototype,
      name,
      (original) =>
        function (this: unknown[], ...args: unknown[]) {
          walked += this.length;
          return original.apply(this, args);
        },
    );
  for (const prototype of [Map.prototype, Set.prototype])
    replace(
      prototype,
      "forEach",
      (original) =>
        function (this: { size: number }, ...args: unknown[]) {
          walked += this.size;
          return original.apply(this, args);
        },
    );
  try {
    run();
  } finally {
    for (const restore of restores.reverse()) restore();
  }
  return walked;
}

describe("the topic matcher", () => {
  /** `count` filters with distinct literal first levels, as many per-device or per-room rules give. */
  function matcherWith(count: number, readsOfFilters: { count: number }): TopicMatcher<number> {
    const matcher = new TopicMatcher<number>();
    for (let index = 0; index < count; index += 1) {
      const parsed = parseTopicFilter(`p${index}/+/temperature`);
      if (!parsed.ok) throw new Error(parsed.problem);
      // A matcher that went back to the filters at match time would be seen reading them.
      const watched = new Proxy(parsed.value, {
        get(target, property, receiver) {
          readsOfFilters.count += 1;
          return Reflect.get(target, property, receiver) as unknown;
        },
      });
      matcher.add(watched, index);
    }
    readsOfFilters.count = 0;
    return matcher;
  }

  /** The trie walk is private; spying on it counts the nodes one match visits. */
  function spyOnWalk() {
    const prototype = TopicMatcher.prototype as unknown as Record<string, unknown>;
    expect(
      typeof prototype["walk"],
      "TopicMatcher's recursive trie walk was renamed or removed: point this guard at its replacement",
    ).toBe("function");
    return vi.spyOn(prototype as { walk: (...args: unknown[]) => unknown }, "walk");
  }

  it("visits as many trie nodes with 1,000 filters as with 10", () => {
    const visits: number[] = [];
    const filterReads: number[] = [];
    for (const count of [10, 1_000]) {
      const reads = { count: 0 };
      const matcher = matcherWith(count, reads);
      const walk = spyOnWalk();
      const found = matcher.match("p7/dev/temperature");
      expect(found.map((match) => match.target)).toEqual([7]);
      visits.push(walk.mock.calls.length);
      filterReads.push(reads.count);
      walk.mockRestore();
    }
    expect(visits[0]).toBe(visits[1]);
    // root, "p7", "+" and the end: one node per level of the topic, and one more.
    expect(visits[0]).toBeLessThanOrEqual(4);
    expect(filterReads).toEqual([0, 0]);
  });

  it("visits a bounded number of nodes when wildcards branch the walk", () => {
    const matcher = new TopicMatcher<string>();
    const filters = ["+/+/temperature", "#", "p7/#", "p7/+/+", "+/dev/#"];
    for (let index = 0; index < 1_000; index += 1) filters.push(`p${index}/dev/temperature`);
    for (const text of filters) {
      const parsed = parseTopicFilter(text);
      if (!parsed.ok) throw new Error(parsed.problem);
      matcher.add(parsed.value, text);
    }
    const walk = spyOnWalk();
    expect(matcher.match("p7/dev/temperature")).toHaveLength(6);
    // Each level can branch into its literal and its "+" child only: at most 1 + 2 + 4 + 8 nodes.
    expect(walk.mock.calls.length).toBeLessThanOrEqual(15);
  });
});
