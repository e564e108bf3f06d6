import { describe, expect, it } from "vitest";
import {
  compileFormula,
  FORMULA_FUNCTIONS,
  formatProblem,
  referencedNames,
  MAX_FORMULA_DEPTH,
  MAX_FORMULA_LENGTH,
  MAX_FORMULA_NODES,
  type FormulaEnvironment,
  type ValueKind,
} from "../../../src/core/formula/index.js";
import { compiled, environment, problems } from "./formula-support.js";

describe("what a compiled formula says about itself", () => {
  it("lists its distinct references in first-use order, branches not taken included", () => {
    const formula = compiled("p ? coalesce(b, a) : a + (available(c) ? 0 : 1) + b");
    expect(formula.references).toEqual(["p", "b", "a", "c"]);
    expect(formula.text).toBe("p ? coalesce(b, a) : a + (available(c) ? 0 : 1) + b");
  });

  it("names what it uses and where before any name is known, or nothing when it does not parse", () => {
    expect(referencedNames("p ? coalesce(bb, a) : a + unknown_one")).toEqual([
      { name: "p", at: 0 },
      { name: "bb", at: 13 },
      { name: "a", at: 17 },
      { name: "unknown_one", at: 26 },
    ]);
    expect(referencedNames("round(x, 1) + 2nd_floor")).toEqual([
      { name: "x", at: 6 },
      { name: "2nd_floor", at: 14 },
    ]);
    expect(referencedNames("a +")).toEqual([]);
    expect(referencedNames("a.constructor")).toEqual([]);
  });

  it("has no references when it uses only numbers", () => {
    expect(compiled("1 + 2").references).toEqual([]);
  });

  it.each<[string, ValueKind]>([
    ["living_room_temperature - outside_temperature", "number"],
    ["(0.7 * living_room_temperature + 0.3 * hall_temperature)", "number"],
    ["dewpoint(living_room_temperature, living_room_humidity)", "number"],
    ["p ? 1 : 0", "number"],
    ["living_room_temperature < 19 and not living_room_windows", "boolean"],
    ["a == b", "boolean"],
    ["not p", "boolean"],
    ["living_room_windows", "boolean"],
    ["p ? true : q", "boolean"],
    ["coalesce(living_room_windows, false)", "boolean"],
    ["available(a)", "boolean"],
  ])("%s gives a %s", (text, kind) => {
    expect(compiled(text).resultKind).toBe(kind);
  });

  it("references keys of fanned-out entities and keys starting with a digit", () => {
    expect(compiled("room_temperature__kitchen - 2nd_floor_temperature").references).toEqual([
      "room_temperature__kitchen",
      "2nd_floor_temperature",
    ]);
    expect(compiled("1e5 + 1e-5 + 1E+2").references).toEqual([]); // still numbers
  });

  it("reads formulas written over several lines", () => {
    expect(compiled("living_room_temperature\n  - outside_temperature\r\n  + 1").references).toHaveLength(2);
  });
});

describe("unknown names", () => {
  it("suggests the name meant", () => {
    expect(problems("living_room_temp + 1")).toEqual([
      'unknown reference "living_room_temp" at 1:1; did you mean "living_room_temperature"?',
    ]);
    expect(problems("1 + Hall_Temperature")).toEqual([
      'unknown reference "Hall_Temperature" at 1:5; did you mean "hall_temperature"?',
    ]);
    expect(problems("True")).toEqual(['unknown reference "True" at 1:1; did you mean "true"?']);
  });

  it("suggests nothing when nothing is close", () => {
    expect(problems("kitchen_fridge_power")).toEqual(['unknown reference "kitchen_fridge_power" at 1:1']);
  });

  it("reports every unknown name, each once, where it is first used", () => {
    expect(problems("x + y * x\n+ z")).toEqual([
      'unknown reference "x" at 1:1',
      'unknown reference "y" at 1:5',
      'unknown reference "z" at 2:3',
    ]);
  });

  it("knows a function used as a value", () => {
    expect(problems("sqrt + 1")).toEqual(['"sqrt" is a function at 1:1; call it: sqrt(…)']);
  });

  it("suggests a function, or lists them", () => {
    expect(problems("sqr(4)")).toEqual(['unknown function "sqr" at 1:1; did you mean "sqrt"?']);
    expect(problems("1 + average(a, b)")).toEqual([
      `unknown function "average" at 1:5; the functions are ${FORMULA_FUNCTIONS.map((fn) => fn.name).join(", ")}`,
    ]);
  });

  it("does not call a value", () => {
    expect(problems("hall_temperature(1)")[0]).toMatch(/^unknown function "hall_temperature" at 1:1/);
  });

  it("still checks the arguments of an unknown function", () => {
    expect(problems("average(a, bogus)")).toHaveLength(2);
  });

  it.each(["constructor", "__proto__", "prototype", "toString", "hasOwnProperty", "valueOf", "this", "null"])(
    "%s is a plain unknown reference, and an unknown function",
    (name) => {
      expect(problems(name)[0]).toMatch(new RegExp(`^unknown reference "${name}" at 1:1`));
      if (name !== "this" && name !== "null")
        expect(problems(`${name}(1)`)[0]).toMatch(new RegExp(`^unknown function "${name}" at 1:1`));
    },
  );

  it("gives nothing away through an environment backed by a plain object", () => {
    const table: Record<string, ValueKind> = { a: "number" };
    const naive: FormulaEnvironment = { kindOf: (name) => table[name], names: ["a"] };
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"])
      expect(problems(`a + ${name}`, naive)[0]).toMatch(/^unknown reference/);
  });
});

describe("argument counts", () => {
  const counts: Record<string, [number, number]> = {
    abs: [1, 1],
    min: [1, Infinity],
    max: [1, Infinity],
    round: [1, 2],
    floor: [1, 1],
    ceil: [1, 1],
    sqrt: [1, 1],
    pow: [2, 2],
    exp: [1, 1],
    log: [1, 2],
    clamp: [3, 3],
    dewpoint: [2, 2],
    absolute_humidity: [2, 2],
    available: [1, 1],
    coalesce: [2, Infinity],
  };

  it("covers every function", () => {
    expect(Object.keys(counts).sort()).toEqual(FORMULA_FUNCTIONS.map((fn) => fn.name).sort());
  });

  it.each(Object.entries(counts))("%s takes from %j arguments", (name, [min, max]) => {
    const call = (count: number) => `${name}(${Array.from({ length: count }, () => "50").join(", ")})`;
    expect(compileFormula(call(min), environment()).ok).toBe(true);
    expect(problems(call(min - 1))[0]).toMatch(new RegExp(`^${name} takes .*, got ${min - 1} at 1:1$`));
    if (max !== Infinity) {
      expect(compileFormula(call(max), environment()).ok).toBe(true);
      expect(problems(call(max + 1))[0]).toMatch(new RegExp(`^${name} takes .*, got ${max + 1} at 1:1$`));
    } else {
      expect(compileFormula(call(20), environment()).ok).toBe(true);
    }
  });

  it.each([
    ["abs(1, 2)", "abs takes 1 argument, got 2 at 1:1"],
    ["round()", "round takes 1 or 2 arguments, got 0 at 1:1"],
    ["1 + max()", "max takes at least 1 argument, got 0 at 1:5"],
    ["coalesce(a)", "coalesce takes at least 2 arguments, got 1 at 1:1"],
    ["clamp(a, b)", "clamp takes 3 arguments, got 2 at 1:1"],
  ])("%s: %s", (text, message) => {
    expect(problems(text)).toEqual([message]);
  });
});

describe("kinds", () => {
  it.each([
    ["1 + true", "expected a number for +, got the boolean true at 1:5"],
    [
      "living_room_temperature + living_room_windows",
      'expected a number for +, got the boolean "living_room_windows" at 1:27',
    ],
    ["a * (b < c)", "expected a number for *, got a boolean at 1:6"],
    ["-p", 'expected a number for -, got the boolean "p" at 1:2'],
    ["+true", "expected a number for +, got the boolean true at 1:2"],
    ["p ** 2", 'expected a number for **, got the boolean "p" at 1:1'],
    ["p < 1", 'expected a number for <, got the boolean "p" at 1:1'],
    ["1 >= q", 'expected a number for >=, got the boolean "q" at 1:6'],
    ["1 < a < 3", "expected a number for <, got a boolean at 1:1; to test a range write a < b and b < c"],
    ["a == p", "== compares values of one kind, got a number and a boolean at 1:3"],
    ["p != 1", "!= compares values of one kind, got a boolean and a number at 1:3"],
    ["a and p", 'expected a boolean for and, got the number "a" at 1:1'],
    ["p or 1", "expected a boolean for or, got the number 1 at 1:6"],
    [
      "not a",
      'expected a boolean for not, got the number "a" at 1:5; not applies to the value right after it; to negate a comparison write not (a < b)',
    ],
    [
      "not a < 19",
      'expected a boolean for not, got the number "a" at 1:5; not applies to the value right after it; to negate a comparison write not (a < b)',
    ],
    ["a ? 1 : 2", 'expected a boolean for the condition of "? :", got the number "a" at 1:1'],
    ["p ? 1 : q", 'the two branches of "? :" must be of one kind, got a number and a boolean at 1:3'],
    ["sqrt(p)", 'expected a number for argument 1 of sqrt, got the boolean "p" at 1:6'],
    [
      "dewpoint(20, living_room_windows)",
      'expected a number for argument 2 of dewpoint, got the boolean "living_room_windows" at 1:14',
    ],
    ["coalesce(a, p)", "the arguments of coalesce must be of one kind, got a number and a boolean at 1:13"],
  ])("%s: %s", (text, message) => {
    expect(problems(text)).toEqual([message]);
  });

  it("reports each mistake once, not the mistakes it causes", () => {
    expect(problems("(1 + p) * 2 < 3 and bogus")).toEqual([
      'expected a number for +, got the boolean "p" at 1:6',
      'unknown reference "bogus" at 1:21',
    ]);
  });

  it("accepts parentheses around not", () => {
    expect(compiled("not (a < 19)").resultKind).toBe("boolean");
    expect(compiled("(not p) == q").resultKind).toBe("boolean");
  });
});

describe("syntax and what the language does not have", () => {
  it.each([
    ["", "the formula is empty at 1:1"],
    ["  \n ", "the formula is empty at 1:1"],
    ["1 +", 'expected a value after "+", found the end of the formula at 1:4'],
    ["1 + * 2", 'expected a value after "+", found "*" at 1:5'],
    ["-", "expected a value, found the end of the formula at 1:2"],
    ["(1 + 2", 'unclosed "(" at 1:1'],
    ["max(1, (2)", 'unclosed "(" at 1:4'],
    ["1 + (2 * 3))", 'unexpected ")" at 1:12'],
    ["()", "expected a value in ( ) at 1:1"],
    ["1 + ()", "expected a value in ( ) at 1:5"],
    ["1 + ( ) * 2", "expected a value in ( ) at 1:5"],
    ["a b", 'expected an operator before "b" at 1:3'],
    ["(a) (b)", 'expected an operator before "(" at 1:5'],
    ["a, b", 'unexpected "," at 1:2; a formula is one expression; commas only separate arguments'],
    ["(a, b)", 'unexpected "," at 1:3; a formula is one expression; commas only separate arguments'],
    [",a", 'unexpected "," at 1:1'],
    ["a;", 'unexpected ";" at 1:2'],
    ["a; b", 'unexpected ";" at 1:2; a formula is one expression; commas only separate arguments'],
    [";", 'unexpected ";" at 1:1; a formula is one expression; commas only separate arguments'],
    ["f(,a)", 'unexpected "," at 1:3'],
    ["max(a,)", 'unexpected ")" at 1:7'],
    ["max(a b)", 'expected "," or ")", found "b" at 1:7'],
    ["a = 1", 'unexpected "=" at 1:3; to compare, write "=="'],
    ["p ? a", 'expected ":" of "? :", found the end of the formula at 1:6'],
    ["p ? : a", 'expected a value, found ":" at 1:5'],
    ["1e", "the number is incomplete at 1:3"],
    ["1..2", 'unexpected "." at 1:3'],
    [".", 'unexpected "." at 1:1'],
    ["{}", 'unexpected "{" at 1:1'],
    ["#", 'unexpected "#" at 1:1'],
    ["a | b", 'unexpected "|" at 1:3'],
    ["a & b", 'unexpected "&" at 1:3'],
    ["a << 2", 'expected a value after "<", found "<" at 1:4'],
    ["a ?? b", 'expected a value, found "?" at 1:4'],
    ["~a", 'unexpected "~" at 1:1'],
    ["`x`", 'unexpected "`" at 1:1'],
    ["`${a}`", 'unexpected "`" at 1:1'],
    ["(()=>1)()", 'unexpected "=" at 1:4'],
    ["a && b", '"&&" is not part of the language at 1:3; write "and"'],
    ["a || b", '"||" is not part of the language at 1:3; write "or"'],
    ["!p", '"!" is not part of the language at 1:1; write "not"'],
    ["a === b", '"===" is not part of the language at 1:3; write "=="'],
    ["a !== b", '"!==" is not part of the language at 1:3; write "!="'],
    ["a ^ 2", '"^" is not part of the language at 1:3; for a power write "**"'],
    ["-2 ** 2", "a sign before a power is ambiguous at 1:4; write (-x) ** y or -(x ** y)"],
    ["a + -b ** 2", "a sign before a power is ambiguous at 1:8; write (-x) ** y or -(x ** y)"],
    ["-(2) ** 2", "a sign before a power is ambiguous at 1:6; write (-x) ** y or -(x ** y)"],
    ["a.b", "reading a part of a value (. or [ ]) is not part of the language at 1:2"],
    ["(a + b).c", "reading a part of a value (. or [ ]) is not part of the language at 1:8"],
    ["a?.b", "reading a part of a value (. or [ ]) is not part of the language at 1:2"],
    ["a[0]", "reading a part of a value (. or [ ]) is not part of the language at 1:2"],
    ["globalThis.process", "reading a part of a value (. or [ ]) is not part of the language at 1:11"],
    ["Math.sqrt(4)", "reading a part of a value (. or [ ]) is not part of the language at 1:5"],
    ["1 + [1, 2]", "lists in [ ] are not part of the language at 1:5"],
    ["max(1)(2)", 'expected an operator before "(" at 1:7'],
    ["(max)(2)", 'expected an operator before "(" at 1:6'],
    ["true(1)", 'expected an operator before "(" at 1:5'],
    ["a?.(1)", 'unexpected "?" at 1:2'],
    ["max((a) (b))", 'expected an operator before "(" at 1:9'],
    ["max(a (b))", 'unknown function "a" at 1:5; "a" is a value: to multiply, write a * (…)'],
    [
      'a == "heat"',
      "text in quotes is not part of the language at 1:6; formulas work on numbers and true/false",
    ],
    ["'x'", "text in quotes is not part of the language at 1:1; formulas work on numbers and true/false"],
    ['"open', "text in quotes is not part of the language at 1:1"],
    ["1e309", 'the number "1e309" is too large at 1:1'],
    ["1 + 1e400", 'the number "1e400" is too large at 1:5'],
  ])("%j: %s", (text, message) => {
    expect(problems(text)).toEqual([message]);
  });

  it("accepts what looks close but is fine", () => {
    for (const text of ["(-2) ** 2", "-(2 ** 2)", "2 ** -2", "((a))", "max((a), (b))", "not(p)", "a - -b"])
      expect(compileFormula(text, environment()).ok).toBe(true);
  });

  it("counts columns in characters, and lines from 1", () => {
    expect(problems("😀 + bogus")).toEqual([
      'unknown reference "😀" at 1:1',
      'unknown reference "bogus" at 1:5',
    ]);
    expect(problems("a +\n\n   bogus")).toEqual(['unknown reference "bogus" at 3:4']);
    expect(problems("a +\r\n bogus")).toEqual(['unknown reference "bogus" at 2:2']);
  });

  it("shows what the user typed escaped, on one line", () => {
    expect(problems("a +\u202ebogus")).toEqual(['unknown reference "\\u202ebogus" at 1:4']);
    expect(problems("a + b\u0085")).toEqual(['unknown reference "b\\u0085" at 1:5']);
    expect(problems(`${"x".repeat(100)} + 1`)).toEqual([`unknown reference "${"x".repeat(37)}..." at 1:1`]);
  });
});

describe("limits", () => {
  it(`refuses formulas longer than ${MAX_FORMULA_LENGTH} characters`, () => {
    expect(problems("1".repeat(MAX_FORMULA_LENGTH + 1))).toEqual([
      `the formula is longer than ${MAX_FORMULA_LENGTH} characters at 1:${MAX_FORMULA_LENGTH + 1}`,
    ]);
    expect(compileFormula(`a${" ".repeat(MAX_FORMULA_LENGTH - 1)}`, environment()).ok).toBe(true);
  });

  it(`refuses nesting deeper than ${MAX_FORMULA_DEPTH} levels`, () => {
    const nested = (depth: number) => `${"(".repeat(depth)}a${")".repeat(depth)}`;
    expect(compileFormula(nested(MAX_FORMULA_DEPTH), environment()).ok).toBe(true);
    expect(problems(nested(MAX_FORMULA_DEPTH + 1))).toEqual([
      `the formula is nested more than ${MAX_FORMULA_DEPTH} levels deep at 1:${MAX_FORMULA_DEPTH + 1}; split it into several formula rules`,
    ]);
    const calls = (depth: number) => `${"abs(".repeat(depth)}a${")".repeat(depth)}`;
    expect(compileFormula(calls(MAX_FORMULA_DEPTH - 1), environment()).ok).toBe(true);
    expect(problems(calls(MAX_FORMULA_DEPTH + 1))[0]).toMatch(/^the formula is nested more than/);
    for (const deep of [
      "-".repeat(1999) + "a",
      "not ".repeat(499) + "p",
      "p ? ".repeat(200) + "1" + " : 1".repeat(200),
    ])
      expect(problems(deep)[0]).toMatch(/^the formula is nested more than/);
    expect(problems(`${"a + ".repeat(MAX_FORMULA_DEPTH)}a`)[0]).toMatch(/^the formula is nested more than/);
  });

  it(`refuses more than ${MAX_FORMULA_NODES} parts`, () => {
    const parts = (count: number) => `max(${Array.from({ length: count - 1 }, () => "1").join(",")})`;
    expect(compileFormula(parts(MAX_FORMULA_NODES), environment()).ok).toBe(true);
    expect(problems(parts(MAX_FORMULA_NODES + 1))[0]).toMatch(
      new RegExp(`^the formula has more than ${MAX_FORMULA_NODES} parts at 1:\\d+$`),
    );
  });
});

describe("formatProblem", () => {
  it("puts the position after the message and the hint after the position", () => {
    expect(formatProblem({ message: 'unknown reference "x"', line: 2, column: 7 })).toBe(
      'unknown reference "x" at 2:7',
    );
    expect(formatProblem({ message: "m", line: 1, column: 1, hint: 'did you mean "y"?' })).toBe(
      'm at 1:1; did you mean "y"?',
    );
  });
});
