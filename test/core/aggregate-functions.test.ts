import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FUNCTION_NAMES,
  NUMERIC_FUNCTIONS,
  type NumericFunctionName,
} from "../../src/core/aggregate-functions.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { compileOne, numberOf, onOf, readOne } from "../support/rules.js";

const T0 = 1_700_000_000_000;

function storeFor(fn: string, extra: Record<string, unknown> = {}): ReadingsStore {
  return new ReadingsStore([compileOne({ name: "Rule", topic: "s/+", function: fn, ...extra })]);
}

/** Ingests `payloads[i]` on `s/i` at T0 + i, so later indexes are more recent. */
function ingestAll(store: ReadingsStore, payloads: readonly string[], start = T0): void {
  payloads.forEach((payload, index) => {
    store.ingest(`s/${index}`, payload, start + index);
  });
}

describe("numeric functions", () => {
  const many = ["4", "1", "7", "2", "6"];
  it.each<[NumericFunctionName, number, number]>([
    ["mean", 5, 4],
    ["median", 5, 4],
    ["min", 5, 1],
    ["max", 5, 7],
    ["sum", 5, 20],
    ["count", 1, 5],
    ["range", 0, 6],
    ["stdev", 0, 2.280350850198276],
    ["last", 5, 6],
  ])("%s: one input gives %d, many give %d", (fn, one, expected) => {
    const single = storeFor(fn);
    ingestAll(single, ["5"]);
    expect(readOne(single, T0 + 10).state).toEqual({ kind: "number", value: one });

    const store = storeFor(fn);
    ingestAll(store, many);
    const value = readOne(store, T0 + 10);
    expect(numberOf(value)).toBeCloseTo(expected, 12);
    expect(value.inputs).toBe(5);
  });

  it("median of an even count is the mean of the middle two", () => {
    const store = storeFor("median");
    ingestAll(store, ["10", "1", "4", "3"]);
    expect(numberOf(readOne(store, T0 + 10))).toBe(3.5);
  });

  it("last is the most recently received, not the first topic seen or the largest", () => {
    const store = storeFor("last");
    store.ingest("s/c", "3", T0);
    store.ingest("s/a", "1", T0 + 1);
    store.ingest("s/b", "2", T0 + 2);
    expect(numberOf(readOne(store, T0 + 10))).toBe(2);
    store.ingest("s/c", "9", T0 + 6);
    expect(numberOf(readOne(store, T0 + 10))).toBe(9);
  });

  it("last orders by arrival when two topics update within the same millisecond", () => {
    const store = storeFor("last");
    store.ingest("s/first-seen", "1", T0);
    store.ingest("s/later-seen", "2", T0 + 1);
    // Both in one millisecond: the one that arrived second is the last, whichever was seen first.
    store.ingest("s/later-seen", "20", T0 + 5);
    store.ingest("s/first-seen", "10", T0 + 5);
    expect(numberOf(readOne(store, T0 + 10))).toBe(10);
    store.ingest("s/first-seen", "11", T0 + 7);
    store.ingest("s/later-seen", "21", T0 + 7);
    expect(numberOf(readOne(store, T0 + 10))).toBe(21);
  });

  it("stdev is the population standard deviation", () => {
    const store = storeFor("stdev");
    ingestAll(store, ["2", "4", "4", "4", "5", "5", "7", "9"]);
    expect(numberOf(readOne(store, T0 + 10))).toBe(2);
  });

  it("keeps precision averaging many close readings", () => {
    const store = storeFor("mean");
    const payloads = Array.from({ length: 1000 }, () => "0.1");
    ingestAll(store, payloads);
    expect(numberOf(readOne(store, T0 + 2000))).toBe(0.1);
  });

  it("handles 100,000 inputs without overflowing the stack", () => {
    const rule = compileOne({ name: "Max", topic: "s/+", function: "max" }, { max_sources: 100_000 });
    const store = new ReadingsStore([rule]);
    for (let index = 0; index < 100_000; index += 1) store.ingest(`s/${index}`, String(index), T0);
    expect(numberOf(readOne(store, T0))).toBe(99_999);
  });

  it("gives state none, not Infinity, when a sum overflows", () => {
    const store = storeFor("sum");
    ingestAll(store, ["1e308", "1e308"]);
    const value = readOne(store, T0 + 10);
    expect(value.state.kind).toBe("none");
    expect(value.inputs).toBe(2);
    const range = storeFor("range");
    ingestAll(range, ["1.7e308", "-1.7e308"]);
    expect(readOne(range, T0 + 10).state.kind).toBe("none");
  });
});

describe("binary functions and count_on", () => {
  it.each<[string, string[], boolean]>([
    ["all", ["ON", "ON"], true],
    ["all", ["ON", "OFF"], false],
    ["all", ["ON"], true],
    ["any", ["OFF", "OFF"], false],
    ["any", ["OFF", "ON"], true],
    ["any", ["ON"], true],
    ["none", ["OFF", "OFF"], true],
    ["none", ["OFF", "ON"], false],
    ["none", ["OFF"], true],
  ])("%s of %j is %s", (fn, payloads, on) => {
    const store = storeFor(fn);
    ingestAll(store, payloads);
    const value = readOne(store, T0 + 10);
    expect(value.state).toEqual({ kind: "binary", on });
    expect(value.inputs).toBe(payloads.length);
  });

  it("count_on counts inputs equal to on_value", () => {
    const store = storeFor("count_on");
    ingestAll(store, ["ON", "off", "on", "1", "OFF"]);
    expect(readOne(store, T0 + 10).state).toEqual({ kind: "number", value: 2 });
    const none = storeFor("count_on");
    ingestAll(none, ["off"]);
    expect(readOne(none, T0 + 10).state).toEqual({ kind: "number", value: 0 });
  });

  it("uses a custom on_value", () => {
    const store = storeFor("all", { on_value: "closed" });
    ingestAll(store, ["CLOSED", "Closed"]);
    expect(onOf(readOne(store, T0 + 10))).toBe(true);
  });
});

describe("every function", () => {
  it.each(FUNCTION_NAMES)("%s with no inputs is state none, never 0", (fn) => {
    const store = storeFor(fn);
    const value = readOne(store, T0);
    expect(value.state.kind).toBe("none");
    expect(value.inputs).toBe(0);
    expect(value.fresh).toEqual([]);
  });

  it.each(FUNCTION_NAMES)("%s below min_inputs is state none", (fn) => {
    const store = storeFor(fn, { min_inputs: 3 });
    ingestAll(store, ["1", "1"]);
    const value = readOne(store, T0 + 10);
    expect(value.state).toMatchObject({
      kind: "none",
      reason: expect.stringContaining("needs 3") as unknown,
    });
    expect(value.inputs).toBe(2);
    store.ingest("s/2", "1", T0 + 10);
    expect(readOne(store, T0 + 10).state.kind).not.toBe("none");
  });

  it.each(FUNCTION_NAMES)("%s drops readings older than max_age and lists them as stale", (fn) => {
    const store = storeFor(fn, { max_age: 60 });
    store.ingest("s/old", "1", T0);
    store.ingest("s/new", "1", T0 + 30_000);
    // Exactly max_age old is still fresh.
    expect(readOne(store, T0 + 60_000).inputs).toBe(2);
    const value = readOne(store, T0 + 60_001);
    expect(value.inputs).toBe(1);
    expect(value.fresh).toEqual(["s/new"]);
    expect(value.stale).toEqual(["s/old"]);
    const later = readOne(store, T0 + 90_001);
    expect(later.state.kind).toBe("none");
    expect(later.stale.toSorted()).toEqual(["s/new", "s/old"]);
    // A new message brings a stale source back.
    store.ingest("s/old", "1", T0 + 100_000);
    expect(readOne(store, T0 + 100_000).fresh).toEqual(["s/old"]);
  });
});

describe("numeric functions against a straightforward recomputation", () => {
  const finite = fc.double({ min: -1e9, max: 1e9, noNaN: true, noDefaultInfinity: true });

  function expected(fn: NumericFunctionName, values: readonly number[]): number {
    const n = values.length;
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const sorted = [...values].sort((a, b) => a - b);
    switch (fn) {
      case "mean":
        return mean;
      case "median":
        return n % 2 === 1
          ? (sorted[(n - 1) / 2] ?? NaN)
          : ((sorted[n / 2 - 1] ?? NaN) + (sorted[n / 2] ?? NaN)) / 2;
      case "min":
        return sorted[0] ?? NaN;
      case "max":
        return sorted[n - 1] ?? NaN;
      case "sum":
        return values.reduce((a, b) => a + b, 0);
      case "count":
        return n;
      case "range":
        return (sorted[n - 1] ?? NaN) - (sorted[0] ?? NaN);
      case "stdev":
        return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
      case "last":
        return values[n - 1] ?? NaN;
    }
  }

  it("agrees for any finite numbers on distinct topics, as text or JSON", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...NUMERIC_FUNCTIONS),
        fc.array(finite, { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (fn, values, asJson) => {
          const store = new ReadingsStore([
            compileOne({ name: "Rule", topic: "p/+", function: fn, ...(asJson ? { value_path: "v" } : {}) }),
          ]);
          values.forEach((value, index) => {
            store.ingest(`p/${index}`, asJson ? JSON.stringify({ v: value }) : String(value), T0 + index);
          });
          const actual = numberOf(readOne(store, T0 + values.length));
          const want = expected(fn, values);
          expect(actual).toBeDefined();
          if (actual === undefined) return;
          const scale = Math.max(1, ...values.map(Math.abs));
          // Sums are compensated in the code and naive here; both are within a few ulps of the scale.
          const tolerance =
            fn === "mean" || fn === "sum" || fn === "stdev" ? scale * values.length * 1e-14 : 0;
          expect(Math.abs(actual - want)).toBeLessThanOrEqual(tolerance);
          expect(Object.is(actual, -0)).toBe(false);
        },
      ),
      { numRuns: 400 },
    );
  });
});
