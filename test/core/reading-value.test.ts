import { describe, expect, it } from "vitest";
import { comparableText, jsonValue, textValue } from "../../src/core/reading-value.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { parsePayload, readingsOf } from "../../src/core/payload-readings.js";
import type { ReadingValue } from "../../src/core/reading-value.js";
import { parseValuePaths } from "../../src/core/value-path.js";
import { compileOne, numberOf, onOf, readAll, readOne } from "../support/rules.js";

const T0 = 1_700_000_000_000;

/** The value of a payload read without a value_path. */
function extractWhole(payload: string): ReadingValue {
  return readingsOf(parsePayload(payload), [], false).readings[0]?.value ?? { kind: "absent" };
}

/** The readings of a JSON document at a value path, as `{ key, value }`. */
function extractAtPath(json: unknown, pathText: string) {
  const paths = parseValuePaths(pathText);
  if (!paths.ok) throw new Error(paths.problem);
  return readingsOf(parsePayload(JSON.stringify(json)), paths.value, false).readings.map(
    ({ key, value }) => ({
      key,
      value,
    }),
  );
}

describe("payload values", () => {
  it.each([
    ["21.5", 21.5],
    ["21", 21],
    [" 21 ", 21],
    ["\t-3.25\n", -3.25],
    ['"21.5"', 21.5],
    ['" 21 "', 21],
    ["+4", 4],
    [".5", 0.5],
    ["5.", 5],
    ["1e3", 1000],
    ["-2.5E-1", -0.25],
    ["-0", 0],
    ["1.7976931348623157e308", Number.MAX_VALUE],
  ])("reads %j as the number %d", (payload, expected) => {
    const value = extractWhole(payload);
    expect(value).toEqual({ kind: "number", value: expected });
  });

  it("turns -0 into 0, as text and as JSON", () => {
    for (const value of [extractWhole("-0"), extractWhole("-0.0"), jsonValue(-0)]) {
      expect(value.kind).toBe("number");
      if (value.kind === "number") expect(Object.is(value.value, 0)).toBe(true);
    }
  });

  it.each([
    "",
    "   ",
    "null",
    "nan",
    "NaN",
    "None",
    "none",
    "unknown",
    "UNKNOWN",
    "unavailable",
    "Unavailable",
    '"null"',
    '""',
  ])("reads %j as no reading", (payload) => {
    expect(extractWhole(payload)).toEqual({ kind: "absent" });
  });

  it.each(["1e309", "-1e309"])("reads %j, which overflows, as unusable", (payload) => {
    expect(extractWhole(payload).kind).toBe("unusable");
  });

  it.each(["Infinity", "-Infinity", "0x10", "1_000", "21,5", "twenty", "12 °C", "0b1", "--1"])(
    "reads %j as text, not a number",
    (payload) => {
      expect(extractWhole(payload).kind).toBe("text");
    },
  );

  it("reads JSON booleans and bare true/false as booleans", () => {
    expect(extractWhole("true")).toEqual({ kind: "boolean", value: true });
    expect(extractWhole(" false ")).toEqual({ kind: "boolean", value: false });
    expect(jsonValue(true)).toEqual({ kind: "boolean", value: true });
  });

  it("reads objects, lists and broken JSON as unusable", () => {
    expect(extractWhole('{"a":1}').kind).toBe("unusable");
    expect(extractWhole("[1,2]").kind).toBe("unusable");
    expect(extractWhole("{broken").kind).toBe("unusable");
    expect(extractWhole('"unterminated').kind).toBe("unusable");
  });

  it("compares numbers as written, text case-insensitively and booleans as true/false", () => {
    expect(comparableText({ kind: "number", value: 1 })).toBe("1");
    expect(comparableText(textValue("ON"))).toBe("on");
    expect(comparableText({ kind: "boolean", value: false })).toBe("false");
    expect(comparableText({ kind: "absent" })).toBeUndefined();
    expect(comparableText({ kind: "unusable", why: "x" })).toBeUndefined();
  });
});

describe("value paths", () => {
  it("rejects empty segments", () => {
    for (const text of ["", ".", "a.", ".a", "a..b", "a. .b"])
      expect(parseValuePaths(text).ok, text).toBe(false);
    expect(parseValuePaths("ENERGY.Power").ok).toBe(true);
  });

  it("follows a dotted path", () => {
    expect(extractAtPath({ ENERGY: { Power: 120 } }, "ENERGY.Power")).toEqual([
      { key: undefined, value: { kind: "number", value: 120 } },
    ]);
  });

  it("gives no reading where a plain path leads nowhere", () => {
    expect(extractAtPath({ Time: "x" }, "ENERGY.Power")).toEqual([]);
    expect(extractAtPath([5], "a")).toEqual([]);
  });

  it("does not follow inherited properties", () => {
    expect(extractAtPath({}, "constructor")).toEqual([]);
    expect(extractAtPath({ a: {} }, "a.__proto__")).toEqual([]);
    expect(extractAtPath({ a: {} }, "a.toString")).toEqual([]);
  });

  it("expands * over every key, naming each reading", () => {
    const json = {
      Time: "2024-01-01T00:00:00",
      "DS18B20-1": { Temperature: 20 },
      "DS18B20-2": { Temperature: 22 },
    };
    expect(extractAtPath(json, "*.Temperature")).toEqual([
      { key: "DS18B20-1", value: { kind: "number", value: 20 } },
      { key: "DS18B20-2", value: { kind: "number", value: 22 } },
    ]);
  });

  it("finds nothing, and no error, when * matches no key", () => {
    expect(extractAtPath({ Time: "x", Uptime: 5 }, "*.Temperature")).toEqual([]);
  });

  it("joins the keys of several * segments", () => {
    expect(extractAtPath({ a: { b: { v: 1 } } }, "*.*.v")).toEqual([
      { key: "a.b", value: { kind: "number", value: 1 } },
    ]);
  });
});

describe("values through the store", () => {
  const meanRule = () => compileOne({ name: "Mean", topic: "t/#", function: "mean" });

  it("averages numbers and numeric strings, skipping no-reading payloads without calling them unusable", () => {
    const store = new ReadingsStore([meanRule()]);
    const payloads = [
      "21.5",
      "21",
      " 21 ",
      '"22.5"',
      "null",
      "nan",
      "NaN",
      "None",
      "unknown",
      "unavailable",
      "",
    ];
    payloads.forEach((payload, index) => {
      store.ingest(`t/${index}`, payload, T0);
    });
    const value = readOne(store, T0);
    expect(numberOf(value)).toBeCloseTo(21.5, 12);
    expect(value.inputs).toBe(4);
    expect(value.fresh).toEqual(["t/0", "t/1", "t/2", "t/3"]);
    expect(value.unusable).toEqual([]);
    expect(value.stale).toEqual([]);
  });

  it("lists overflowing, infinite, hexadecimal and text payloads as unusable and warns once per source", () => {
    const store = new ReadingsStore([meanRule()]);
    for (const [index, payload] of ["1e309", "Infinity", "-Infinity", "0x10", "hot", "{}", "[1]"].entries()) {
      store.ingest(`t/bad${index}`, payload, T0);
    }
    store.ingest("t/good", "-0", T0);
    const first = readAll(store, T0);
    const value = first.values[0];
    expect(value?.state).toEqual({ kind: "number", value: 0 });
    expect(Object.is(numberOf(value), 0)).toBe(true);
    expect(value?.unusable).toHaveLength(7);
    expect(first.warnings.map((warning) => warning.source).sort()).toEqual(value?.unusable.toSorted());
    expect(first.warnings.every((warning) => warning.why.length > 0)).toBe(true);

    // The same payloads read again are neither counted nor warned about again.
    const second = readAll(store, T0 + 1);
    expect(second.warnings).toEqual([]);

    // A new bad payload on a known-bad source is not warned about again.
    store.ingest("t/bad4", "still hot", T0 + 2);
    const third = readAll(store, T0 + 2);
    expect(third.warnings).toEqual([]);
    expect(third.values[0]?.unusable).toHaveLength(7);

    // A source that recovered and turns bad again warns again.
    store.ingest("t/bad4", "20", T0 + 3);
    readAll(store, T0 + 3);
    store.ingest("t/bad4", "hot again", T0 + 4);
    expect(readAll(store, T0 + 4).warnings.map((warning) => warning.source)).toEqual(["t/bad4"]);
  });

  it("gives state none when every payload means no reading", () => {
    const store = new ReadingsStore([meanRule()]);
    store.ingest("t/a", "unavailable", T0);
    store.ingest("t/b", "null", T0);
    const value = readOne(store, T0);
    expect(value.state.kind).toBe("none");
    expect(value.inputs).toBe(0);
    expect(value.unusable).toEqual([]);
  });

  it("reads a missing value under *.Temperature as no reading", () => {
    const store = new ReadingsStore([
      compileOne({ name: "T", topic: "tele/+/SENSOR", function: "mean", value_path: "*.Temperature" }),
    ]);
    store.ingest("tele/a/SENSOR", '{"AM2301":{"Temperature":null}}', T0);
    const value = readOne(store, T0);
    expect(value.state.kind).toBe("none");
    expect(value.fresh).toEqual([]);
    expect(value.unusable).toEqual([]);
  });

  it("makes one source per * key", () => {
    const store = new ReadingsStore([
      compileOne({ name: "T", topic: "tele/+/SENSOR", function: "mean", value_path: "*.Temperature" }),
    ]);
    store.ingest(
      "tele/kitchen/SENSOR",
      '{"Time":"2024-05-01T10:00:00","DS18B20-1":{"Id":"01","Temperature":20},"DS18B20-2":{"Id":"02","Temperature":22},"TempUnit":"C"}',
      T0,
    );
    const value = readOne(store, T0);
    expect(value.fresh).toEqual(["tele/kitchen/SENSOR#DS18B20-1", "tele/kitchen/SENSOR#DS18B20-2"]);
    expect(value.inputs).toBe(2);
    expect(numberOf(value)).toBe(21);
  });

  it("reads a plain payload as no reading when the rule has a value_path, and broken JSON as unusable", () => {
    const store = new ReadingsStore([
      compileOne({ name: "T", topic: "t/+", function: "mean", value_path: "temperature" }),
    ]);
    store.ingest("t/lwt", "Online", T0);
    store.ingest("t/number", "21", T0);
    store.ingest("t/broken", '{"temperature": 1', T0);
    store.ingest("t/b", '{"temperature": 19}', T0);
    const value = readOne(store, T0);
    expect(value.fresh).toEqual(["t/b"]);
    expect(value.unusable).toEqual(["t/broken"]);
    expect(numberOf(value)).toBe(19);
  });

  it("compares booleans and text with on_value case-insensitively", () => {
    const rule = compileOne({
      name: "Any open",
      topic: "door/+",
      function: "count_on",
      value_path: "contact",
      on_value: "FALSE",
    });
    const store = new ReadingsStore([rule]);
    store.ingest("door/a", '{"contact":false}', T0);
    store.ingest("door/b", '{"contact":"False"}', T0);
    store.ingest("door/c", '{"contact":true}', T0);
    store.ingest("door/d", '{"contact":"false "}', T0);
    expect(numberOf(readOne(store, T0))).toBe(3);

    const plain = new ReadingsStore([compileOne({ name: "Any on", topic: "light/+", function: "any" })]);
    plain.ingest("light/a", "off", T0);
    plain.ingest("light/b", "On", T0);
    expect(onOf(readOne(plain, T0))).toBe(true);
  });

  it("matches numeric payloads against a numeric on_value", () => {
    const store = new ReadingsStore([
      compileOne({ name: "Count", topic: "s/+", function: "count_on", on_value: "1" }),
    ]);
    store.ingest("s/a", "1", T0);
    store.ingest("s/b", "1.0", T0);
    store.ingest("s/c", "0", T0);
    expect(numberOf(readOne(store, T0))).toBe(2);
  });

  it("never throws on undecodable bytes or huge payloads", () => {
    const store = new ReadingsStore([
      compileOne({ name: "Mean", topic: "t/#", function: "mean" }),
      compileOne({ name: "Path", topic: "t/#", function: "mean", value_path: "*.v" }),
      compileOne({ name: "Any", topic: "t/#", function: "any" }),
    ]);
    const garbage = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x00, 0x80, 0x7b]).toString();
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const deepObject = `${'{"v":'.repeat(50_000)}1${"}".repeat(50_000)}`;
    store.ingest("t/garbage", garbage, T0);
    store.ingest("t/huge", "9".repeat(5_000_000), T0);
    store.ingest("t/deep", deep, T0);
    store.ingest("t/deepObject", deepObject, T0);
    store.ingest("t/hugeJson", JSON.stringify({ v: { v: 1 }, pad: "x".repeat(3_000_000) }), T0);
    store.ingestOversized("t/oversized", 300_000_000, T0);
    expect(() => readAll(store, T0)).not.toThrow();
    const { byKey } = readAll(store, T0);
    expect(byKey.get("mean")?.unusable).toContain("t/oversized");
    expect(byKey.get("mean")?.unusable).toContain("t/garbage");
    expect(byKey.get("path")?.fresh).toEqual(["t/hugeJson#v"]);
    expect(byKey.get("any")?.unusable).toContain("t/oversized");
  });

  it("marks an oversized payload unusable until a normal one replaces it", () => {
    const store = new ReadingsStore([compileOne({ name: "Mean", topic: "t/#", function: "mean" })]);
    store.ingest("t/a", "20", T0);
    store.ingestOversized("t/a", 2_000_000, T0 + 1);
    const bad = readAll(store, T0 + 1);
    expect(bad.values[0]?.unusable).toEqual(["t/a"]);
    expect(bad.values[0]?.state.kind).toBe("none");
    expect(bad.warnings[0]?.why).toContain("2000000 bytes");
    store.ingest("t/a", "21", T0 + 2);
    expect(numberOf(readOne(store, T0 + 2))).toBe(21);
  });
});

describe("on_value written as a number", () => {
  it("matches payloads equal as numbers, however either is written", async () => {
    const { compileOne, readOne, numberOf } = await import("../support/rules.js");
    const { ReadingsStore } = await import("../../src/core/readings-store.js");
    for (const onValue of ["1", "1.0", "01"]) {
      const rule = compileOne({ name: "Ones", topic: "n/+", function: "count_on", on_value: onValue });
      const store = new ReadingsStore([rule]);
      store.ingest("n/a", "1.0", 0);
      store.ingest("n/b", "01", 0);
      store.ingest("n/c", "1", 0);
      store.ingest("n/d", "2", 0);
      expect(numberOf(readOne(store, 1))).toBe(3);
    }
  });
});
