import { describe, expect, it } from "vitest";
import type { Rule } from "../../src/core/rule.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { compile, compileOne, entitiesAfterRead, numberOf, readAll, readOne } from "../support/rules.js";

const T0 = 1_700_000_000_000;

describe("source limit", () => {
  it("keeps N topics, drops the least recently updated and reports once", () => {
    const rule = compileOne({ name: "Mean", topic: "s/+", function: "mean" }, { max_sources: 3 });
    const reports: [string, string][] = [];
    const store = new ReadingsStore([rule], {
      onSourceLimit: (limited, topic) => reports.push([limited.key, topic]),
    });
    store.ingest("s/a", "1", T0);
    store.ingest("s/b", "2", T0 + 1);
    store.ingest("s/c", "3", T0 + 2);
    store.ingest("s/a", "4", T0 + 3); // a is now the most recent; b the least
    expect(store.sourceCountOf("mean")).toBe(3);
    expect(reports).toEqual([]);

    store.ingest("s/d", "5", T0 + 4);
    expect(store.sourceCountOf("mean")).toBe(3);
    expect(reports).toEqual([["mean", "s/b"]]);
    expect(readOne(store, T0 + 5).fresh.toSorted()).toEqual(["s/a", "s/c", "s/d"]);

    store.ingest("s/e", "6", T0 + 5); // drops c
    store.ingest("s/f", "7", T0 + 6); // drops a
    expect(reports).toHaveLength(1);
    const value = readOne(store, T0 + 7);
    expect(value.fresh.toSorted()).toEqual(["s/d", "s/e", "s/f"]);
    expect(numberOf(value)).toBe(6);
    expect(store.trackedTopicCount).toBe(3);
  });

  it("admits a dropped topic again when it sends again", () => {
    const rule = compileOne({ name: "Mean", topic: "s/+", function: "mean" }, { max_sources: 2 });
    const store = new ReadingsStore([rule]);
    store.ingest("s/a", "1", T0);
    store.ingest("s/b", "2", T0 + 1);
    store.ingest("s/c", "3", T0 + 2); // drops a
    store.ingest("s/a", "10", T0 + 3); // drops b
    expect(readOne(store, T0 + 3).fresh.toSorted()).toEqual(["s/a", "s/c"]);
  });

  it("applies the limit per rule", () => {
    const rules = compile(
      [
        { name: "Narrow", topic: "s/x/+", function: "count" },
        { name: "Wide", topic: "s/#", function: "count" },
      ],
      { max_sources: 2 },
    );
    const limited: string[] = [];
    const store = new ReadingsStore(rules, { onSourceLimit: (rule) => limited.push(rule.key) });
    store.ingest("s/x/1", "1", T0);
    store.ingest("s/y/1", "1", T0 + 1);
    store.ingest("s/y/2", "1", T0 + 2);
    expect(limited).toEqual(["wide"]);
    const { byKey } = readAll(store, T0 + 3);
    expect(byKey.get("narrow")?.fresh).toEqual(["s/x/1"]);
    expect(byKey.get("wide")?.fresh.toSorted()).toEqual(["s/y/1", "s/y/2"]);
  });

  it("removes a fanned-out entity whose last topic was dropped, and gives it back its key when it returns", () => {
    const rule = compileOne({ name: "{room}", topic: "r/+room", function: "mean" }, { max_sources: 2 });
    const store = new ReadingsStore([rule]);
    store.ingest("r/kitchen", "1", T0);
    store.ingest("r/hall", "2", T0 + 1);
    store.ingest("r/attic", "3", T0 + 2); // drops kitchen
    expect(entitiesAfterRead(store, T0 + 2).map((identity) => identity.entityKey)).toEqual([
      "room__hall",
      "room__attic",
    ]);
    store.ingest("r/kitchen", "4", T0 + 3); // drops hall
    expect(
      entitiesAfterRead(store, T0 + 3)
        .map((identity) => identity.entityKey)
        .sort(),
    ).toEqual(["room__attic", "room__kitchen"]);
  });
});

describe("snapshot and restore", () => {
  const rules = (): Rule[] =>
    compile([
      { name: "Mean", topic: "s/+", function: "mean", max_age: 60 },
      { name: "{room} any", topic: "d/+room/+", function: "any", max_age: 600 },
    ]);

  it("round-trips readings into a new store", () => {
    const before = new ReadingsStore(rules());
    before.ingest("s/a", "20", T0);
    before.ingest("s/b", '"22"', T0 + 10_000);
    before.ingest("d/hall/1", "ON", T0);
    before.ingest("d/hall/2", "OFF", T0);
    before.ingest("d/attic/1", "OFF", T0);
    const saved = before.snapshot();
    expect(saved).toHaveLength(5);
    expect(JSON.parse(JSON.stringify(saved))).toEqual(saved);

    const after = new ReadingsStore(rules());
    expect(after.restore(saved, T0 + 20_000)).toBe(5);
    const now = T0 + 20_000;
    expect(readAll(after, now).values).toEqual(readAll(before, now).values);
    expect(numberOf(readAll(after, now).byKey.get("mean"))).toBe(21);
  });

  it("ignores readings older than max_age, readings from the future and topics no rule matches", () => {
    const store = new ReadingsStore(rules());
    const now = T0 + 100_000;
    const restored = store.restore(
      [
        { topic: "s/fresh", payload: "5", receivedAt: now - 60_000 },
        { topic: "s/old", payload: "99", receivedAt: now - 60_001 },
        { topic: "s/future", payload: "99", receivedAt: now + 1 },
        { topic: "other/topic", payload: "99", receivedAt: now },
        { topic: "d/gone/1", payload: "ON", receivedAt: now - 600_001 },
        { topic: "d/hall/1", payload: "ON", receivedAt: now - 600_000 },
      ],
      now,
    );
    expect(restored).toBe(2);
    const { byKey } = readAll(store, now);
    expect(byKey.get("mean")?.fresh).toEqual(["s/fresh"]);
    expect(byKey.get("mean")?.stale).toEqual([]);
    expect(numberOf(byKey.get("mean"))).toBe(5);
    // No entity appears for a room whose only reading was too old to restore.
    expect([...byKey.keys()]).toEqual(["mean", "room_any__hall"]);
    expect(store.trackedTopicCount).toBe(2);
  });

  it("never overwrites a reading received since start with a saved one", () => {
    const store = new ReadingsStore(rules());
    store.ingest("s/a", "30", T0 + 5);
    expect(store.restore([{ topic: "s/a", payload: "10", receivedAt: T0 }], T0 + 5)).toBe(0);
    expect(numberOf(readOne(store, T0 + 5, ["mean"]))).toBe(30);
  });

  it("snapshots neither stale payloads nor oversized ones", () => {
    const store = new ReadingsStore(rules());
    store.ingest("s/a", "1", T0);
    store.ingestOversized("s/b", 1_000_000, T0);
    readAll(store, T0 + 61_000); // releases s/a, stale for every rule
    expect(store.snapshot()).toEqual([]);
  });

  it("keeps a payload as long as the longest max_age of the rules reading it", () => {
    const both = compile([
      { name: "Short", topic: "x/#", function: "mean", max_age: 10 },
      { name: "Long", topic: "x/+", function: "mean", max_age: 100 },
    ]);
    const store = new ReadingsStore(both);
    store.ingest("x/a", "7", T0);
    const { byKey } = readAll(store, T0 + 50_000);
    expect(byKey.get("short")?.stale).toEqual(["x/a"]);
    expect(numberOf(byKey.get("long"))).toBe(7);
    expect(store.snapshot()).toEqual([{ topic: "x/a", payload: "7", receivedAt: T0 }]);
  });
});

describe("ignored prefixes", () => {
  it("never takes topics under an ignored prefix as inputs", () => {
    const store = new ReadingsStore([compileOne({ name: "Everything", topic: "#", function: "count" })], {
      ignoredPrefixes: ["mqtt_aggregator/", "homeassistant/"],
    });
    store.ingest("mqtt_aggregator/everything/state", "3", T0);
    store.ingest("homeassistant/sensor/x/config", "{}", T0);
    store.ingest("sensors/a", "1", T0);
    store.ingest("mqtt_aggregatorx/a", "1", T0);
    const value = readOne(store, T0);
    expect(value.fresh.toSorted()).toEqual(["mqtt_aggregatorx/a", "sensors/a"]);
    expect(store.trackedTopicCount).toBe(2);
    expect(
      store.restore([{ topic: "mqtt_aggregator/everything/state", payload: "1", receivedAt: T0 }], T0),
    ).toBe(0);
  });
});

describe("construction", () => {
  it("knows plain rules before any reading, and refuses two rules with one key", () => {
    const [rule] = compile([{ name: "Mean", topic: "s/+", function: "mean" }]);
    if (rule === undefined) throw new Error("no rule");
    expect(new ReadingsStore([rule]).entities().map((identity) => identity.entityKey)).toEqual(["mean"]);
    expect(() => new ReadingsStore([rule, rule])).toThrow(/share the key/);
  });

  it("ignores topics that match no rule", () => {
    const store = new ReadingsStore([compileOne({ name: "Mean", topic: "s/+", function: "mean" })]);
    store.ingest("other", "1", T0);
    store.ingest("s/a/b", "1", T0);
    expect(store.trackedTopicCount).toBe(0);
  });
});

describe("source limit across overlapping rules", () => {
  it("gives a topic back to the rule that dropped it when it sends again, while another rule kept it", () => {
    const [all, only] = compile(
      [
        { name: "All", topic: "s/#", function: "count" },
        { name: "X only", topic: "s/x", function: "last" },
      ],
      { max_sources: 2, max_age: 60 },
    );
    const store = new ReadingsStore([all as Rule, only as Rule]);
    store.ingest("s/x", "1", T0);
    store.ingest("s/y", "2", T0 + 1);
    store.ingest("s/z", "3", T0 + 2); // "All" drops s/x; "X only" keeps it
    store.ingest("s/x", "10", T0 + 3); // now the most recent: back in "All", s/y out
    const { byKey } = readAll(store, T0 + 4);
    expect(byKey.get("all")?.fresh.toSorted()).toEqual(["s/x", "s/z"]);
    expect(store.sourceCountOf("all")).toBe(2);
    expect(numberOf(byKey.get("x_only"))).toBe(10);
  });
});

describe("entities removed by the source limit", () => {
  it("are reported once, unless their value came back", () => {
    const rule = compileOne(
      { name: "{room} temperature", topic: "r/+room", function: "max" },
      { max_sources: 2 },
    );
    const store = new ReadingsStore([rule]);
    store.ingest("r/attic", "30", T0);
    store.ingest("r/kitchen", "21", T0 + 1);
    readAll(store, T0 + 1); // shown once, so their removal matters
    store.ingest("r/bedroom", "19", T0 + 2); // attic's entity goes with its only topic
    expect(store.takeRemovedEntities().map((identity) => identity.entityKey)).toEqual([
      "room_temperature__attic",
    ]);
    expect(store.takeRemovedEntities()).toEqual([]);

    readAll(store, T0 + 2);
    store.ingest("r/cellar", "12", T0 + 3); // kitchen goes
    store.ingest("r/kitchen", "22", T0 + 4); // and comes back before anyone asked
    expect(store.takeRemovedEntities().map((identity) => identity.entityKey)).toEqual([
      "room_temperature__bedroom",
    ]);
  });

  it("are not remembered when no read ever showed them", () => {
    const rule = compileOne({ name: "{id}", topic: "boom/+id", function: "last" }, { max_sources: 10 });
    const store = new ReadingsStore([rule]);
    for (let index = 0; index < 10_000; index += 1) store.ingest(`boom/${index}`, "1", T0 + index);
    expect(store.takeRemovedEntities()).toEqual([]);
  });
});

describe("found in review", () => {
  it("keeps `last` the latest value across a restart, whatever order the topics were first seen in", () => {
    const rule = compileOne({ name: "Last", topic: "s/+", function: "last" });
    const before = new ReadingsStore([rule]);
    before.ingest("s/a", "1", T0);
    before.ingest("s/b", "2", T0 + 1);
    before.ingest("s/a", "3", T0 + 2);
    expect(numberOf(readOne(before, T0 + 3))).toBe(3);
    const after = new ReadingsStore([rule]);
    after.restore(before.snapshot(), T0 + 4);
    expect(numberOf(readOne(after, T0 + 4))).toBe(3);
  });

  it("does not compute a group that was marked changed and then dropped at the source limit", () => {
    const rule = compileOne(
      { name: "{dev} on", topic: "p/+dev", function: "count_on", update: "change" },
      { max_sources: 1 },
    );
    const store = new ReadingsStore([rule]);
    store.ingest("p/a", "ON", T0);
    store.readChanged(T0);
    store.ingest("p/a", "OFF", T0 + 1); // marks p/a's group …
    store.ingest("p/b", "ON", T0 + 2); // … which the limit then drops
    expect(store.readChanged(T0 + 3).values.map((value) => value.identity.entityKey)).toEqual(["dev_on__b"]);
  });

  it("takes back an availability topic a rule reads once it reports again after a drop at the source limit", () => {
    const rule = compileOne(
      { name: "Online", topic: "tele/+/LWT", function: "count_on", on_value: "Online" },
      { max_sources: 2 },
    );
    const store = new ReadingsStore([rule]);
    store.ingest("tele/a/LWT", "Online", T0);
    store.ingest("tele/b/LWT", "Online", T0 + 1);
    store.ingest("tele/c/LWT", "Online", T0 + 2); // drops a
    store.ingest("tele/a/LWT", "Online", T0 + 3); // a is back, b goes
    expect(readOne(store, T0 + 4).fresh.toSorted()).toEqual(["tele/a/LWT", "tele/c/LWT"]);
  });

  it("recomputes a rule on change at once when a payload is too large to keep", () => {
    const rule = compileOne({ name: "W", topic: "w/+", function: "any", update: "change" });
    const store = new ReadingsStore([rule]);
    store.ingest("w/a", "ON", T0);
    store.readChanged(T0);
    store.ingestOversized("w/a", 100_000, T0 + 1);
    expect(store.readChanged(T0 + 1).values[0]?.state.kind).toBe("none");
  });
});
