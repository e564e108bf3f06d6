import { describe, expect, it } from "vitest";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { readAtOnce } from "../../src/core/read-job.js";
import type { DerivedValue } from "../../src/core/derived-value.js";
import { LAST_READ_PASS } from "../../src/core/source-topic.js";
import { compile } from "../support/rules.js";

const T0 = 1_700_000_000_000;

function numberOf(value: DerivedValue | undefined): number | undefined {
  return value?.state.kind === "number" ? value.state.value : undefined;
}

function byKey(values: readonly DerivedValue[]): Map<string, DerivedValue> {
  return new Map(values.map((value) => [value.identity.entityKey, value]));
}

const rules = compile([
  { name: "Mean {room}", topic: "home/+room/+/temperature", function: "mean" },
  { name: "All", topic: "home/+/+/temperature", function: "max" },
  { name: "Count", topic: "home/#", function: "count" },
]);

function filledStore(): ReadingsStore {
  const store = new ReadingsStore(rules);
  for (let index = 0; index < 40; index += 1)
    store.ingest(`home/room${index % 4}/s${index}/temperature`, String(20 + index / 10), T0 + index);
  store.ingest("home/room0/s0/humidity", "50", T0);
  return store;
}

describe("a read taken a slice at a time", () => {
  it("finds what a read at once finds, whatever the slice", () => {
    const atOnce = byKey(filledStore().read(T0 + 1_000).values);
    for (const budget of [1, 3, 7, 1_000]) {
      const job = filledStore().beginRead(T0 + 1_000);
      let steps = 0;
      while (!job.step(budget)) steps += 1;
      const stepped = byKey(job.result().values);
      expect([...stepped.keys()].toSorted()).toEqual([...atOnce.keys()].toSorted());
      for (const [key, value] of atOnce) {
        expect(stepped.get(key)?.state).toEqual(value.state);
        expect(stepped.get(key)?.counts).toEqual(value.counts);
      }
      if (budget === 1) expect(steps).toBeGreaterThan(40);
    }
  });

  it("evaluates each source once, for all its groups, even over many slices", () => {
    const store = filledStore();
    const job = store.beginRead(T0 + 1_000);
    while (!job.step(2));
    const values = byKey(job.result().values);
    // 41 topics under home/#, each counted once although it also feeds two other rules' groups.
    expect(numberOf(values.get("count"))).toBe(41);
    const room0 = [...values.values()].find((value) => value.identity.captures["room"] === "room0");
    expect(room0?.inputs).toBe(10);
  });

  it("sees a message that arrives between slices when its source is still to come", () => {
    const store = new ReadingsStore(compile([{ name: "Sum", topic: "s/+", function: "sum" }]));
    store.ingest("s/a", "1", T0);
    store.ingest("s/b", "2", T0);
    const job = store.beginRead(T0 + 10);
    expect(job.step(1)).toBe(false); // s/a is evaluated
    store.ingest("s/a", "100", T0 + 5); // too late for this read
    store.ingest("s/b", "20", T0 + 5); // in time
    store.ingest("s/c", "300", T0 + 5); // joined the group: read too
    while (!job.step(1));
    expect(numberOf(job.result().values[0])).toBe(321);
    // The next read sees everything.
    expect(numberOf(store.read(T0 + 20).values[0])).toBe(420);
  });

  it("moves on at every step, even when told at once that the slice is over", () => {
    const job = filledStore().beginRead(T0 + 1_000);
    let steps = 1;
    while (!job.step(Number.POSITIVE_INFINITY, () => true)) steps += 1;
    expect(steps).toBeLessThan(41);
    expect(numberOf(byKey(job.result().values).get("count"))).toBe(41);
  });

  it("refuses to give a result before its last step", () => {
    const job = filledStore().beginRead(T0);
    job.step(1);
    expect(() => job.result()).toThrow(/before its last step/);
    expect(readAtOnce(job).values.length).toBeGreaterThan(0);
  });

  it("leaves out a group dropped at a source limit between two slices", () => {
    const [rule] = compile([{ name: "Per room {room}", topic: "r/+room/t", function: "mean" }], {
      max_sources: 10,
    });
    if (rule === undefined) throw new Error("no rule");
    const store = new ReadingsStore([rule]);
    for (let index = 0; index < 10; index += 1) store.ingest(`r/a${index}/t`, "1", T0 + index);
    const job = store.beginRead(T0 + 100);
    job.step(1);
    // A new room makes room by dropping the least recently updated: r/a0's group goes.
    store.ingest("r/new/t", "5", T0 + 50);
    while (!job.step(1));
    const rooms = job.result().values.map((value) => value.identity.captures["room"]);
    expect(rooms).not.toContain("a0");
    expect(rooms).toContain("a1");
  });

  it("walks on from where it was when a source limit drops a source of the group it is walking", () => {
    const store = new ReadingsStore(
      compile([{ name: "Max {room}", topic: "home/+room/+", function: "max" }], { max_sources: 10 }),
    );
    for (let index = 0; index < 10; index += 1)
      store.ingest(`home/k/s${index}`, index === 5 ? "100" : "0", T0 + index);
    const job = store.beginRead(T0 + 100);
    expect(job.step(5)).toBe(false); // s0 to s4
    store.ingest("home/k/s10", "0", T0 + 101); // drops s0, the least recently updated
    while (!job.step(1_000));
    expect(numberOf(job.result().values[0])).toBe(100);
  });

  it("counts each source once when the status page looks at an entity between two slices, at the last read number too", () => {
    const store = new ReadingsStore(
      compile([
        { name: "Count", topic: "home/+/+", function: "count" },
        { name: "Count {room}", topic: "home/+room/+", function: "count" },
      ]),
    );
    for (let index = 0; index < 4; index += 1) store.ingest(`home/k/s${index}`, "1", T0);
    const reference = store.read(T0 + 1).values.map((value) => value.state);
    // The reads' numbers start again from 1 after the last: the read below takes the last one.
    (store as unknown as { passes: number }).passes = LAST_READ_PASS - 1;
    const job = store.beginRead(T0 + 2);
    job.step(4); // "Count" walked: every source marked as evaluated
    store.inspect(T0 + 2, "count_room__k");
    while (!job.step(100));
    expect(job.result().values.map((value) => value.state)).toEqual(reference);
    // And the next read, numbered 1 again, evaluates every source anew.
    expect(store.read(T0 + 3).values.map((value) => value.state)).toEqual(reference);
  });

  it("keeps one membership per list of groups in use, whatever the order of the rules", () => {
    const rules = [
      { name: "{device} temperature", topic: "z/+device", value_path: "temperature", function: "mean" },
      { name: "All temperatures", topic: "z/+", value_path: "temperature", function: "mean" },
      { name: "All humidities", topic: "z/+", value_path: "humidity", function: "mean" },
    ];
    for (const order of [rules, [...rules].reverse()]) {
      const store = new ReadingsStore(compile(order, { max_sources: 100_000 }));
      for (let index = 0; index < 1_000; index += 1) store.ingest(`z/d${index}`, '{"temperature":1}', index);
      const memberships = (store as unknown as { memberships: { size: number } }).memberships;
      // One per device (its own entity and the two shared ones), none for the lists on the way.
      expect(memberships.size).toBe(1_000);
    }
  });
});
