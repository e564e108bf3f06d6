import { describe, expect, it } from "vitest";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { compile } from "../support/rules.js";

const T0 = 1_700_000_000_000;

function homeOf(topics: number): ReadingsStore {
  const store = new ReadingsStore(
    compile(
      [
        { name: "{room} temperature", topic: "home/+room/+/temperature", function: "mean" },
        { name: "All temperatures", topic: "home/+/+/temperature", function: "median" },
        { name: "Warm rooms", topic: "home/+/+/temperature", function: "count_on", on_value: "22" },
      ],
      { max_sources: 10_000 },
    ),
  );
  for (let index = 0; index < topics; index += 1)
    store.ingest(`home/room${index % 7}/sensor${index}/temperature`, String(18 + (index % 5)), T0 + index);
  return store;
}

describe("a read a slice at a time", () => {
  it("finds what a read at once finds, whatever the slice", () => {
    const whole = homeOf(500).read(T0 + 1_000);
    for (const slice of [1, 7, 100, 10_000]) {
      const job = homeOf(500).beginRead(T0 + 1_000);
      let steps = 1;
      while (!job.step(slice)) steps += 1;
      expect(job.result()).toEqual(whole);
      if (slice < 100) expect(steps).toBeGreaterThan(10);
    }
  });

  it("does the same for some rules, and for the entities marked as changed", () => {
    const ruleKeys = ["warm_rooms", "room_temperature"];
    const whole = homeOf(300).read(T0 + 1_000, ruleKeys);
    const job = homeOf(300).beginRead(T0 + 1_000, ruleKeys);
    while (!job.step(3));
    expect(job.result()).toEqual(whole);
    expect(whole.values.map((value) => value.identity.ruleKey)).toEqual([
      "warm_rooms",
      ...Array.from({ length: 7 }, () => "room_temperature"),
    ]);
  });

  it("takes messages between slices, and counts each source once", () => {
    const store = homeOf(50);
    const job = store.beginRead(T0 + 1_000);
    expect(job.step(10)).toBe(false);
    store.ingest("home/room0/sensor0/temperature", "30", T0 + 900);
    store.ingest("home/room0/late/temperature", "20", T0 + 900);
    while (!job.step(10));
    const all = job.result().values.find((value) => value.identity.ruleKey === "all_temperatures");
    // The new topic came after the sources were listed or before: counted once either way, or not yet.
    expect(all?.inputs).toBeGreaterThanOrEqual(50);
    expect(all?.inputs).toBeLessThanOrEqual(51);
    expect(new Set(all?.sources.map((status) => status.source)).size).toBe(all?.sources.length);
    expect(
      store.read(T0 + 1_000).values.find((value) => value.identity.ruleKey === "all_temperatures")?.inputs,
    ).toBe(51);
  });

  it("is one at a time: a second read before the first ended is a bug in the caller", () => {
    const store = homeOf(50);
    const job = store.beginRead(T0 + 1_000);
    expect(() => store.read(T0 + 1_000)).toThrow(/one at a time/);
    expect(() => job.result()).toThrow(/not complete/);
    store.abandonRead();
    expect(store.read(T0 + 1_000).values).toHaveLength(9);
  });

  it("leaves out an entity whose last topic was dropped at the source limit while it was being read", () => {
    const store = new ReadingsStore(
      compile([{ name: "{device} battery", topic: "battery/+device", function: "last" }], {
        max_sources: 10,
      }),
    );
    for (let index = 0; index < 10; index += 1) store.ingest(`battery/d${index}`, "90", T0 + index);
    store.read(T0 + 100);
    const job = store.beginRead(T0 + 200);
    expect(job.step(1)).toBe(false);
    store.ingest("battery/new", "80", T0 + 150); // drops battery/d0, and with it its entity
    while (!job.step(1));
    const keys = job.result().values.map((value) => value.identity.entityKey);
    expect(keys).not.toContain("device_battery__d0");
    expect(keys).toContain("device_battery__d9");
    expect(store.takeRemovedEntities().map((identity) => identity.entityKey)).toEqual(["device_battery__d0"]);
  });
});
