import { describe, expect, it } from "vitest";
import { bool, evaluate, gone, num, valueOf } from "./formula-support.js";

describe("arithmetic", () => {
  it.each([
    ["1 + 2", 3],
    ["5 - 7", -2],
    ["3 * 4", 12],
    ["10 / 4", 2.5],
    ["7 % 3", 1],
    ["-7 % 3", -1], // the remainder takes the sign of the left side
    ["2 ** 10", 1024],
    ["-a", -2],
    ["+a", 2],
    ["- -a", 2],
    ["2 ** -1", 0.5],
    [".5 + 1e1 + 2.5e-1", 10.75],
    ["a * b", 6],
  ])("%s is %d", (text, expected) => {
    expect(valueOf(text)).toEqual(num(expected));
  });

  it("never gives -0", () => {
    const value = valueOf("-0");
    expect(value.kind === "number" && Object.is(value.value, 0)).toBe(true);
    const product = valueOf("-1 * 0");
    expect(product.kind === "number" && Object.is(product.value, 0)).toBe(true);
  });
});

describe("comparisons and logic", () => {
  it.each([
    ["1 < 2", true],
    ["2 < 2", false],
    ["2 <= 2", true],
    ["3 > 2", true],
    ["2 > 2", false],
    ["2 >= 2", true],
    ["2 == 2", true],
    ["2 != 2", false],
    ["0.1 + 0.2 == 0.3", false], // plain floating point, as documented
    ["true == true", true],
    ["true != false", true],
    ["p and q", false],
    ["p and p", true],
    ["p or q", true],
    ["q or q", false],
    ["not q", true],
    ["not not q", false],
    ["living_room_temperature < 19 and not living_room_windows", true],
  ])("%s is %s", (text, expected) => {
    expect(valueOf(text)).toEqual(bool(expected));
  });
});

describe("precedence and grouping", () => {
  it.each([
    ["1 + 2 * 3", 7],
    ["(1 + 2) * 3", 9],
    ["1 - 2 - 3", -4], // left to right
    ["12 / 2 / 3", 2],
    ["2 ** 3 ** 2", 512], // right to left
    ["(2 ** 3) ** 2", 64],
    ["-(2 ** 2)", -4],
    ["(-2) ** 2", 4],
    ["10 - 2 * 3 % 4", 8],
    ["true ? 1 : 2 + 3", 1], // ? : binds loosest
    ["false ? 1 : 2 + 3", 5],
    ["1 + 2 > 2 ? 10 : 20", 10],
    ["false ? 1 : true ? 2 : 3", 2], // nested to the right
    ["(true ? 1 : 2) + 3", 4],
  ])("%s is %d", (text, expected) => {
    expect(valueOf(text)).toEqual(num(expected));
  });

  it.each([
    ["true or false and false", true], // and before or
    ["(true or false) and false", false],
    ["not true or true", true], // not binds tightest
    ["not false and false", false],
    ["1 < 2 == true", true], // comparison before equality
    ["1 + 1 == 2", true],
    ["not p == q", true], // (not p) == q, the same as not (p == q) for booleans
    ["not (p == q)", true],
  ])("%s is %s", (text, expected) => {
    expect(valueOf(text)).toEqual(bool(expected));
  });
});

describe("functions", () => {
  it.each([
    ["abs(-2.5)", 2.5],
    ["min(3, 1, 2)", 1],
    ["min(5)", 5],
    ["max(3, 1, 2)", 3],
    ["max(-1)", -1],
    ["round(2.4)", 2],
    ["round(2.5)", 3],
    ["round(-2.5)", -3], // halves away from zero
    ["round(1.005, 2)", 1.01], // as written, not as stored in binary
    ["round(2.345, 2)", 2.35],
    ["round(21.456, 1)", 21.5],
    ["round(1234.5, -2)", 1200],
    ["round(1e300, 2)", 1e300],
    ["floor(-1.5)", -2],
    ["ceil(1.2)", 2],
    ["sqrt(9)", 3],
    ["pow(2, 10)", 1024],
    ["exp(0)", 1],
    ["log(exp(2))", 2],
    ["log(8, 4)", 1.5],
    ["clamp(5, 0, 3)", 3],
    ["clamp(-1, 0, 3)", 0],
    ["clamp(2, 0, 3)", 2],
  ])("%s is %d", (text, expected) => {
    const value = valueOf(text);
    expect(value.kind).toBe("number");
    if (value.kind === "number") expect(value.value).toBeCloseTo(expected, 12);
  });

  // Reference values of dew point calculators using the Magnus formula.
  it.each([
    [20, 50, 9.26],
    [30, 60, 21.39],
    [10, 80, 6.71],
    [-10, 70, -14.44], // over water, as the Magnus formula is
    [25, 100, 25],
  ])("dewpoint(%d, %d) is about %d °C", (temperature, humidity, expected) => {
    const value = valueOf(`dewpoint(${temperature}, ${humidity})`);
    expect(value.kind === "number" && value.value).toBeCloseTo(expected, 1);
  });

  // Reference values from psychrometric tables.
  it.each([
    [20, 50, 8.65],
    [0, 100, 4.85],
    [30, 60, 18.2],
    [25, 40, 9.2],
  ])("absolute_humidity(%d, %d) is about %d g/m³", (temperature, humidity, expected) => {
    const value = valueOf(`absolute_humidity(${temperature}, ${humidity})`);
    expect(value.kind === "number" && Math.abs(value.value - expected)).toBeLessThan(0.05 * expected);
  });

  it("dewpoint and absolute_humidity take the values of rules", () => {
    expect(valueOf("dewpoint(hall_temperature, living_room_humidity)")).toEqual(valueOf("dewpoint(20, 50)"));
    expect(valueOf("absolute_humidity(hall_temperature, living_room_humidity) > 8")).toEqual(bool(true));
  });

  it("available tells whether a value is there", () => {
    expect(valueOf("available(a)")).toEqual(bool(true));
    expect(valueOf("available(hall_temperature)", { hall_temperature: gone("stale") })).toEqual(bool(false));
    expect(valueOf("available(a / c)")).toEqual(bool(false)); // a division by zero has no value either
    expect(valueOf("available(p)")).toEqual(bool(true));
  });

  it("coalesce gives the first available value, or the last one's reason", () => {
    expect(valueOf("coalesce(a, b)")).toEqual(num(2));
    expect(valueOf("coalesce(a, b)", { a: gone("stale") })).toEqual(num(3));
    expect(valueOf("coalesce(a, b)", { a: gone("stale"), b: gone("no input") })).toEqual(
      gone("b is unavailable: no input"),
    );
    expect(valueOf("coalesce(a / c, 0)")).toEqual(num(0));
    expect(valueOf("coalesce(living_room_windows, true)", { living_room_windows: gone("x") })).toEqual(
      bool(true),
    );
  });
});

describe("what is unavailable", () => {
  const stale = { hall_temperature: gone("too few fresh inputs (0 of 1)") };
  const reason = gone("hall_temperature is unavailable: too few fresh inputs (0 of 1)");

  it.each([
    "hall_temperature",
    "hall_temperature + 1",
    "1 - hall_temperature",
    "-hall_temperature",
    "hall_temperature < 19",
    "19 == hall_temperature",
    "abs(hall_temperature)",
    "max(1, 2, hall_temperature)",
    "dewpoint(hall_temperature, 50)",
    "p ? hall_temperature : 0",
    "hall_temperature > 3 ? 1 : 0",
    "not (hall_temperature > 3)",
    "hall_temperature > 3 and p",
  ])("%s is unavailable when a value it uses is, naming it", (text) => {
    expect(valueOf(text, stale)).toEqual(reason);
  });

  it("reports the first unavailable value, left to right", () => {
    expect(valueOf("a + b", { a: gone("first"), b: gone("second") })).toEqual(
      gone("a is unavailable: first"),
    );
    expect(valueOf("a + b", { b: gone("second") })).toEqual(gone("b is unavailable: second"));
  });

  it("handles it with available() or coalesce()", () => {
    expect(valueOf("available(hall_temperature) ? hall_temperature : outside_temperature", stale)).toEqual(
      num(5),
    );
    expect(valueOf("coalesce(hall_temperature, outside_temperature) + 1", stale)).toEqual(num(6));
  });

  it("a formula rule's reason carries the reason of the formula it uses", () => {
    expect(valueOf("a * 2", { a: gone("b is unavailable: stale") })).toEqual(
      gone("a is unavailable: b is unavailable: stale"),
    );
  });

  it("an answer that is not a finite number or not of the declared kind is unavailable", () => {
    expect(valueOf("a + 1", { a: num(Number.NaN) })).toEqual(gone("a is not a finite number"));
    expect(valueOf("a + 1", { a: num(Number.POSITIVE_INFINITY) })).toEqual(gone("a is not a finite number"));
    expect(valueOf("a + 1", { a: bool(true) })).toEqual(gone("a is a boolean, not a number"));
    expect(valueOf("not p", { p: num(1) })).toEqual(gone("p is a number, not a boolean"));
  });
});

describe("short-circuits", () => {
  it("and does not look at its right side when the left is false", () => {
    const { value, asked } = evaluate("q and p", { p: gone("stale") });
    expect(value).toEqual(bool(false));
    expect(asked).toEqual(["q"]);
  });

  it("or does not look at its right side when the left is true", () => {
    const { value, asked } = evaluate("p or q", { q: gone("stale") });
    expect(value).toEqual(bool(true));
    expect(asked).toEqual(["p"]);
  });

  it("the right side decides, and can be unavailable, when the left does not", () => {
    expect(valueOf("p and q", { q: gone("stale") })).toEqual(gone("q is unavailable: stale"));
    expect(valueOf("q or p", { p: gone("stale") })).toEqual(gone("p is unavailable: stale"));
  });

  it("an unavailable left side is unavailable, whatever the right", () => {
    const { value, asked } = evaluate("p and q", { p: gone("stale") });
    expect(value).toEqual(gone("p is unavailable: stale"));
    expect(asked).toEqual(["p"]);
  });

  it("? : evaluates only the branch taken", () => {
    const taken = evaluate("p ? a : b", { b: gone("stale") });
    expect(taken.value).toEqual(num(2));
    expect(taken.asked).toEqual(["p", "a"]);
    const other = evaluate("q ? a / c : b");
    expect(other.value).toEqual(num(3));
    expect(other.asked).toEqual(["q", "b"]);
  });

  it("coalesce stops at the first available argument", () => {
    expect(evaluate("coalesce(a, b, c)").asked).toEqual(["a"]);
  });
});

describe("numbers that have no value", () => {
  it.each([
    ["a / c", "division by zero at 1:3"],
    ["living_room_temperature / (hall_temperature - 20)", "division by zero at 1:25"],
    ["0 / 0", "division by zero at 1:3"],
    ["a % c", "% by zero at 1:3"],
    ["sqrt(-1)", "sqrt of a negative number at 1:1"],
    ["1 + sqrt(c - 1)", "sqrt of a negative number at 1:5"],
    ["log(0)", "log of zero or a negative number at 1:1"],
    ["log(-2, 10)", "log of zero or a negative number at 1:1"],
    ["log(8, 1)", "log's base must be above 0 and not 1, got 1 at 1:1"],
    ["log(8, -2)", "log's base must be above 0 and not 1, got -2 at 1:1"],
    ["10 ** 400", "the result of ** is too large at 1:4"],
    ["pow(10, 400)", "the result of pow is too large at 1:1"],
    ["(-8) ** 0.5", "the result of ** is not a real number at 1:6"],
    ["pow(-8, 1 / 3)", "the result of pow is not a real number at 1:1"],
    ["exp(1000)", "the result of exp is too large at 1:1"],
    ["1e308 * 10", "the result of * is too large at 1:7"],
    ["1e308 + 1e308", "the result of + is too large at 1:7"],
    ["-1e308 - 1e308", "the result of - is too large at 1:8"],
    ["round(1, 2.5)", "round's digits must be a whole number from -10 to 10, got 2.5 at 1:1"],
    ["round(1, 11)", "round's digits must be a whole number from -10 to 10, got 11 at 1:1"],
    ["clamp(5, 3, 1)", "clamp's low 3 is above its high 1 at 1:1"],
    ["dewpoint(20, 0)", "dewpoint needs a humidity above 0 and at most 100 %, got 0 at 1:1"],
    ["dewpoint(20, 100.5)", "dewpoint needs a humidity above 0 and at most 100 %, got 100.5 at 1:1"],
    ["dewpoint(20, -5)", "dewpoint needs a humidity above 0 and at most 100 %, got -5 at 1:1"],
    ["dewpoint(-250, 50)", "dewpoint needs a temperature above -243.04 °C, got -250 at 1:1"],
    [
      "absolute_humidity(20, 0)",
      "absolute_humidity needs a humidity above 0 and at most 100 %, got 0 at 1:1",
    ],
    [
      "absolute_humidity(20, 101)",
      "absolute_humidity needs a humidity above 0 and at most 100 %, got 101 at 1:1",
    ],
    ["a +\n  b / c", "division by zero at 2:5"],
  ])("%s: %s", (text, reason) => {
    expect(valueOf(text)).toEqual(gone(reason));
  });

  it("logarithms to 10 and 2 are exact for their powers", () => {
    expect(valueOf("log(1000, 10)")).toEqual(num(3));
    expect(valueOf("log(1024, 2)")).toEqual(num(10));
  });

  it("humidity of exactly 100 % is fine", () => {
    const value = valueOf("dewpoint(20, 100)");
    expect(value.kind === "number" && value.value).toBeCloseTo(20, 10);
  });
});
