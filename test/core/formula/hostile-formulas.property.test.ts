import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  compileFormula,
  evaluateFormula,
  formatProblem,
  type FormulaValue,
} from "../../../src/core/formula/index.js";
import { environment, KINDS } from "./formula-support.js";

/**
 * Traps: a getter on Object.prototype and one on globalThis. Code that looked a user's name up
 * as a property of any object, or as a global, would trip them; formulas use these names a lot.
 */
const TRAPS = ["trap_proto", "trap_global"] as const;
const tripped: string[] = [];

beforeAll(() => {
  Object.defineProperty(Object.prototype, "trap_proto", {
    get: () => tripped.push("trap_proto"),
    configurable: true,
  });
  Object.defineProperty(globalThis, "trap_global", {
    get: () => tripped.push("trap_global"),
    configurable: true,
  });
});

afterAll(() => {
  for (const name of TRAPS) {
    Reflect.deleteProperty(Object.prototype, name);
    Reflect.deleteProperty(globalThis, name);
  }
});

function shape(): string {
  const names = (target: object) => Object.getOwnPropertyNames(target).sort().join(",");
  return [
    Object.prototype,
    Function.prototype,
    Array.prototype,
    String.prototype,
    Number.prototype,
    globalThis,
  ]
    .map(names)
    .join("|");
}

const valueArb: fc.Arbitrary<FormulaValue> = fc.oneof(
  fc.double().map((value) => ({ kind: "number" as const, value })), // NaN, infinities and -0 too
  fc.constantFrom(-1, 0, 1, 50, 100, 1e308).map((value) => ({ kind: "number" as const, value })),
  fc.boolean().map((value) => ({ kind: "boolean" as const, value })),
  fc.constant({ kind: "unavailable" as const, reason: "stale" }),
);
const valuesArb = fc.dictionary(fc.constantFrom(...KINDS.keys()), valueArb);

/**
 * Compiles and, when that works, evaluates, checking everything that must hold for any text:
 * nothing thrown, problems on one line at a real position, lookups only of declared references,
 * a result that is a finite number, a boolean of the compiled kind, or unavailable.
 */
function exercise(text: string, values: Readonly<Record<string, FormulaValue>> = {}): void {
  const result = compileFormula(text, environment());
  if (!result.ok) {
    expect(result.problems.length).toBeGreaterThan(0);
    const lines = text.split("\n");
    for (const problem of result.problems) {
      expect(formatProblem(problem)).not.toMatch(/[\n\r\u2028\u2029]/);
      expect(problem.line).toBeGreaterThanOrEqual(1);
      expect(problem.line).toBeLessThanOrEqual(lines.length);
      expect(problem.column).toBeGreaterThanOrEqual(1);
      expect(problem.column).toBeLessThanOrEqual(Array.from(lines[problem.line - 1] ?? "").length + 1);
    }
    return;
  }
  const { formula } = result;
  for (const name of formula.references) expect(KINDS.has(name)).toBe(true);
  const asked: string[] = [];
  const value = evaluateFormula(formula, (name) => {
    asked.push(name);
    return Object.hasOwn(values, name)
      ? (values[name] ?? { kind: "unavailable", reason: "-" })
      : { kind: "unavailable", reason: "no reading" };
  });
  for (const name of asked) expect(formula.references).toContain(name);
  if (value.kind === "unavailable") expect(typeof value.reason).toBe("string");
  else expect(value.kind).toBe(formula.resultKind);
  if (value.kind === "number") expect(Number.isFinite(value.value)).toBe(true);
}

function expectNothingEscaped(run: () => void): void {
  const before = shape();
  tripped.length = 0;
  run();
  expect(tripped).toEqual([]);
  expect(shape()).toBe(before);
  expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
}

const HOSTILE = [
  "constructor",
  "__proto__",
  "prototype",
  "this",
  "toString()",
  "hasOwnProperty(a)",
  "valueOf",
  "constructor.constructor('return process')()",
  "a.constructor",
  "__proto__.polluted = 1",
  "a['__proto__']['polluted']",
  "this.constructor",
  "globalThis.process",
  "globalThis['process'].exit(1)",
  "process.exit()",
  "require('fs')",
  "import('fs')",
  "eval('1')",
  "new Function('return 1')()",
  "Function('return this')()",
  "Object.prototype",
  "a.b",
  "a[0]",
  "a?.b",
  "(()=>1)()",
  "x => x",
  "function () { return 1 }",
  "`${a}`",
  "`x`",
  "a = 1",
  "a += 1",
  "a++",
  "[1, 2].map(sqrt)",
  "{ a: 1 }",
  "1e309",
  "-1e309",
  "1e-400",
  "9".repeat(400),
  "0x10",
  "0b1",
  "1_000",
  "NaN",
  "Infinity",
  "undefined",
  "null",
  "trap_proto",
  "trap_global",
  "trap_proto(1)",
  "a + trap_proto",
  "min(trap_global, a)",
  "(".repeat(10_000) + "a" + ")".repeat(10_000),
  "-".repeat(10_000) + "a",
  "not ".repeat(10_000) + "p",
  "abs(".repeat(10_000) + "a" + ")".repeat(10_000),
  "[".repeat(10_000),
  "p ? ".repeat(5_000) + "1" + " : 1".repeat(5_000),
  "a + ".repeat(10_000) + "a",
  "a".repeat(1_000_000),
  "(".repeat(1_000_000),
  "\u0000",
  "a\u0000+ b",
  "a\u2028+ b",
  "\u202ea + b",
  "😀 + 😀",
  "\ud800",
];

describe("hostile formulas", () => {
  it.each(
    HOSTILE.map((text) => [text.length > 60 ? `${text.slice(0, 57)}... (${text.length})` : text, text]),
  )("%s: nothing escapes, nothing throws", (_label, text) => {
    expectNothingEscaped(() =>
      exercise(text, { a: { kind: "number", value: 1 }, p: { kind: "boolean", value: true } }),
    );
  });

  it("refuses every one of them but the harmless", () => {
    const harmless = new Set(["1e-400"]);
    for (const text of HOSTILE) expect(compileFormula(text, environment()).ok, text).toBe(harmless.has(text));
  });
});

/** Pieces of JavaScript, of the language and of attacks, joined at random. */
const TOKENS = [
  "constructor",
  "__proto__",
  "prototype",
  "this",
  "globalThis",
  "process",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "trap_proto",
  "trap_global",
  "a",
  "b",
  "p",
  "q",
  "2nd_floor_temperature",
  "living_room_windows",
  ".",
  "?.",
  "[",
  "]",
  "(",
  ")",
  "{",
  "}",
  ",",
  ";",
  "?",
  ":",
  "=>",
  "=",
  "+",
  "-",
  "*",
  "/",
  "%",
  "**",
  "<",
  "<=",
  ">",
  ">=",
  "==",
  "!=",
  "===",
  "and",
  "or",
  "not",
  "&&",
  "||",
  "!",
  "^",
  "~",
  "|",
  "&",
  "true",
  "false",
  "null",
  "0",
  "1",
  "-1",
  "0.5",
  "1e309",
  "1e308",
  "1e-400",
  "'s'",
  '"',
  "`",
  "${",
  "new",
  "Function",
  "eval",
  "sqrt",
  "min",
  "max",
  "round",
  "log",
  "pow",
  "exp",
  "clamp",
  "dewpoint",
  "absolute_humidity",
  "available",
  "coalesce",
  " ",
  "\n",
  "\t",
  "\u2028",
  "😀",
  "\u0000",
];

const soupArb = fc
  .tuple(fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }), fc.constantFrom(" ", ""))
  .map(([tokens, separator]) => tokens.join(separator));

/** Well-typed formulas: they all compile, unless they outgrow a limit. */
const typed = fc.letrec<{ number: string; boolean: string }>((tie) => ({
  number: fc.oneof(
    { maxDepth: 5 },
    fc.constantFrom(
      "a",
      "b",
      "c",
      "living_room_temperature",
      "2nd_floor_temperature",
      "room_temperature__kitchen",
    ),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x < 0 ? `(${String(x)})` : String(x))),
    fc.constantFrom("0", "1", "100", "1e308", "0.1"),
    fc
      .tuple(tie("number"), fc.constantFrom("+", "-", "*", "/", "%", "**"), tie("number"))
      .map(([left, operator, right]) => `(${left} ${operator} ${right})`),
    tie("number").map((x) => `(-(${x}))`),
    fc
      .tuple(fc.constantFrom("abs", "round", "floor", "ceil", "sqrt", "exp", "log"), tie("number"))
      .map(([fn, x]) => `${fn}(${x})`),
    fc
      .tuple(
        fc.constantFrom("pow", "log", "round", "dewpoint", "absolute_humidity", "coalesce"),
        tie("number"),
        tie("number"),
      )
      .map(([fn, x, y]) => `${fn}(${x}, ${y})`),
    fc
      .tuple(fc.constantFrom("min", "max", "clamp"), tie("number"), tie("number"), tie("number"))
      .map(([fn, x, y, z]) => `${fn}(${x}, ${y}, ${z})`),
    fc
      .tuple(tie("boolean"), tie("number"), tie("number"))
      .map(([test, then, otherwise]) => `(${test} ? ${then} : ${otherwise})`),
  ),
  boolean: fc.oneof(
    { maxDepth: 5 },
    fc.constantFrom("true", "false", "p", "q", "living_room_windows"),
    fc
      .tuple(tie("number"), fc.constantFrom("<", "<=", ">", ">=", "==", "!="), tie("number"))
      .map(([left, operator, right]) => `(${left} ${operator} ${right})`),
    fc
      .tuple(tie("boolean"), fc.constantFrom("and", "or", "==", "!="), tie("boolean"))
      .map(([left, operator, right]) => `(${left} ${operator} ${right})`),
    tie("boolean").map((x) => `not (${x})`),
    tie("number").map((x) => `available(${x})`),
    fc.tuple(tie("boolean"), tie("boolean")).map(([x, y]) => `coalesce(${x}, ${y})`),
    fc
      .tuple(tie("boolean"), tie("boolean"), tie("boolean"))
      .map(([test, then, otherwise]) => `(${test} ? ${then} : ${otherwise})`),
  ),
}));

describe("random formulas", () => {
  it("token soup: nothing escapes, nothing throws", () => {
    expectNothingEscaped(() =>
      fc.assert(
        fc.property(soupArb, valuesArb, (text, values) => exercise(text, values)),
        { numRuns: 2000 },
      ),
    );
  });

  it("random text, any unicode: nothing escapes, nothing throws", () => {
    const textArb = fc.oneof(
      fc.string({ unit: "binary", maxLength: 80 }),
      fc.string({ unit: "grapheme", maxLength: 80 }),
    );
    expectNothingEscaped(() =>
      fc.assert(
        fc.property(textArb, valuesArb, (text, values) => exercise(text, values)),
        { numRuns: 1000 },
      ),
    );
  });

  it("well-typed formulas compile to their kind, and evaluate to it or to unavailable", () => {
    const kindArb = fc.oneof(
      typed.number.map((text) => ({ text, kind: "number" as const })),
      typed.boolean.map((text) => ({ text, kind: "boolean" as const })),
    );
    expectNothingEscaped(() =>
      fc.assert(
        fc.property(kindArb, valuesArb, ({ text, kind }, values) => {
          const result = compileFormula(text, environment());
          if (!result.ok) {
            for (const problem of result.problems) expect(problem.message).toMatch(/^the formula (has|is)/);
            return;
          }
          expect(result.formula.resultKind).toBe(kind);
          exercise(text, values);
        }),
        { numRuns: 1000 },
      ),
    );
  });

  it("the same formula and values give the same result", () => {
    fc.assert(
      fc.property(typed.number, valuesArb, (text, values) => {
        const result = compileFormula(text, environment());
        if (!result.ok) return;
        const lookup = (name: string): FormulaValue => values[name] ?? { kind: "unavailable", reason: "-" };
        expect(evaluateFormula(result.formula, lookup)).toEqual(evaluateFormula(result.formula, lookup));
      }),
      { numRuns: 200 },
    );
  });
});
