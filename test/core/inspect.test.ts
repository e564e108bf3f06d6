import { describe, expect, it } from "vitest";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { compile, compileOne, readAll } from "../support/rules.js";

const T0 = 1_700_000_000_000;

/** Two stores fed alike: what the status page does to one must not show in its reads. */
function twins(feed: (store: ReadingsStore) => void): [ReadingsStore, ReadingsStore] {
  const rules = compile([
    { name: "Temperature", topic: "home/+/+", value_path: "temperature", function: "mean", max_age: 60 },
    { name: "{room} windows", topic: "zone/+room/+", value_path: "contact", function: "any" },
  ]);
  const stores: [ReadingsStore, ReadingsStore] = [new ReadingsStore(rules), new ReadingsStore(rules)];
  for (const store of stores) feed(store);
  return stores;
}

describe("inspect (the status page's look at one entity)", () => {
  it("lists every kind of source, with no value at the path too", () => {
    const store = new ReadingsStore(
      compile([
        {
          name: "Temperature",
          topic: "home/+/+",
          value_path: "temperature",
          function: "mean",
          max_age: 60,
          max_value: 50,
        },
      ]),
    );
    store.ingest("home/a/climate", '{"temperature":21.5}', T0);
    store.ingest("home/b/climate", '{"temperature":"warm"}', T0);
    store.ingest("home/c/climate", '{"temperature":99}', T0);
    store.ingest("home/d/state", '{"uptime":12}', T0);
    store.ingest("home/e/climate", '{"temperature":20}', T0 - 120_000);

    const seen = store.inspect(T0 + 1_000, "temperature");
    const byState = Object.fromEntries((seen?.sources ?? []).map((source) => [source.topic, source]));
    expect(seen?.state).toEqual({ kind: "number", value: 21.5 });
    expect(byState["home/a/climate"]).toMatchObject({ state: "counted", value: 21.5, receivedAt: T0 });
    expect(byState["home/b/climate"]).toMatchObject({ state: "unusable", reason: '"warm" is not a number' });
    expect(byState["home/c/climate"]).toMatchObject({
      state: "out_of_range",
      value: 99,
      reason: "99 is above max_value 50",
    });
    expect(byState["home/d/state"]).toMatchObject({
      state: "no_value",
      reason: "no value at the value path",
    });
    expect(byState["home/e/climate"]).toMatchObject({ state: "stale", value: 20 });
    expect(seen?.counts).toEqual({
      counted: 1,
      stale: 1,
      offline: 0,
      unusable: 1,
      out_of_range: 1,
      no_value: 1,
      unavailable: 0,
    });
    // A read lists no source with no value: it is not one of the rule's.
    const read = readAll(store, T0 + 1_000).byKey.get("temperature");
    expect(read?.sources.map((source) => source.topic)).not.toContain("home/d/state");
  });

  it("changes nothing that a later read sees: warnings, revealed entities, released payloads", () => {
    const feed = (store: ReadingsStore) => {
      store.ingest("home/a/climate", '{"temperature":21}', T0);
      store.ingest("home/b/climate", '{"temperature":"broken"}', T0 + 60_000);
      store.ingest("zone/kitchen/window", '{"contact":true}', T0);
      store.ingest("zone/attic/bridge", '{"state":"online"}', T0);
    };
    const [looked, untouched] = twins(feed);
    // Past max_age: a read would release home/a's payload; an inspection must not.
    const later = T0 + 61_000;
    expect(looked.inspect(later, "temperature")?.counts.stale).toBe(1);
    expect(looked.inspect(later, "temperature")?.counts.unusable).toBe(1);
    expect(looked.payloadOf("home/a/climate")).toBe('{"temperature":21}');
    // A fanned-out entity that no read has shown does not exist for the page either.
    expect(looked.inspect(later, "room_windows__kitchen")).toBeUndefined();
    expect(looked.entities()).toEqual(untouched.entities());

    const a = readAll(looked, later);
    const b = readAll(untouched, later);
    expect(a.values).toEqual(b.values);
    expect(a.warnings).toEqual(b.warnings);
    expect(a.warnings.map((warning) => warning.source)).toEqual(["home/b/climate"]);
    expect(looked.payloadOf("home/a/climate")).toBeUndefined();
    // Once a read has shown it, the page can look at it.
    expect(looked.inspect(later, "room_windows__kitchen")?.state).toEqual({ kind: "binary", on: false });
  });

  it("says so when a payload without a value at the path went stale and was released", () => {
    const [looked, untouched] = twins((store) => store.ingest("home/d/state", '{"uptime":12}', T0));
    expect(looked.inspect(T0, "temperature")?.counts.no_value).toBe(1);
    const later = T0 + 61_000;
    // The read releases the stale payload; the source never had a value, so a read never lists it.
    expect(readAll(looked, later).values).toEqual(readAll(untouched, later).values);
    expect(looked.inspect(later, "temperature")?.sources).toEqual([
      {
        source: "home/d/state",
        topic: "home/d/state",
        state: "no_value",
        value: undefined,
        reason: "no payload kept: it went stale",
        receivedAt: T0,
      },
    ]);
  });

  it("lists up to its limit of each kind and counts them all", () => {
    const store = new ReadingsStore([compileOne({ name: "Count", topic: "s/+", function: "count" })]);
    for (let index = 0; index < 600; index += 1) store.ingest(`s/${index}`, String(index), T0);
    const seen = store.inspect(T0, "count");
    expect(seen?.sources).toHaveLength(500);
    expect(seen?.counts.counted).toBe(600);
    expect(store.inspect(T0, "count", 10)?.sources).toHaveLength(10);
    expect(store.inspect(T0, "no_such_rule")).toBeUndefined();
  });

  it("gives the raw latest payload of a tracked topic, and none for an oversized or unknown one", () => {
    const store = new ReadingsStore([compileOne({ name: "Count", topic: "s/+", function: "count" })]);
    store.ingest("s/a", "<script>1</script>", T0);
    store.ingest("s/a", "2", T0 + 1);
    store.ingestOversized("s/big", 100_000, T0);
    store.ingest("other/topic", "3", T0);
    expect(store.payloadOf("s/a")).toBe("2");
    expect(store.payloadOf("s/big")).toBeUndefined();
    expect(store.payloadOf("other/topic")).toBeUndefined();
  });
});
