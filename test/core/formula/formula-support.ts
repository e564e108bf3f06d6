import {
  compileFormula,
  evaluateFormula,
  formatProblem,
  type CompiledFormula,
  type FormulaEnvironment,
  type FormulaValue,
  type ValueKind,
} from "../../../src/core/formula/index.js";

/** The names the tests' formulas may use, as a rules engine would declare them. */
export const KINDS: ReadonlyMap<string, ValueKind> = new Map<string, ValueKind>([
  ["living_room_temperature", "number"],
  ["outside_temperature", "number"],
  ["hall_temperature", "number"],
  ["living_room_humidity", "number"],
  ["living_room_windows", "boolean"],
  ["room_temperature__kitchen", "number"],
  ["2nd_floor_temperature", "number"],
  ["a", "number"],
  ["b", "number"],
  ["c", "number"],
  ["p", "boolean"],
  ["q", "boolean"],
]);

export function environment(kinds: ReadonlyMap<string, ValueKind> = KINDS): FormulaEnvironment {
  return { kindOf: (name) => kinds.get(name), names: [...kinds.keys()] };
}

export function compiled(text: string, env: FormulaEnvironment = environment()): CompiledFormula {
  const result = compileFormula(text, env);
  if (!result.ok) throw new Error(`${text}: ${result.problems.map(formatProblem).join("; ")}`);
  return result.formula;
}

/** The problems of a formula that must not compile, as the log would show them. */
export function problems(text: string, env: FormulaEnvironment = environment()): string[] {
  const result = compileFormula(text, env);
  if (result.ok) throw new Error(`${text}: compiled, but should not`);
  return result.problems.map(formatProblem);
}

export const num = (value: number): FormulaValue => ({ kind: "number", value });
export const bool = (value: boolean): FormulaValue => ({ kind: "boolean", value });
export const gone = (reason: string): FormulaValue => ({ kind: "unavailable", reason });

/** Default values of the test names; unlisted names are unavailable. */
export const VALUES: Readonly<Record<string, FormulaValue>> = {
  living_room_temperature: num(18.5),
  outside_temperature: num(5),
  hall_temperature: num(20),
  living_room_humidity: num(50),
  living_room_windows: bool(false),
  a: num(2),
  b: num(3),
  c: num(0),
  p: bool(true),
  q: bool(false),
};

/** Evaluates with `values` over VALUES, and records the names looked up, in order. */
export function evaluate(
  text: string,
  values: Readonly<Record<string, FormulaValue>> = {},
): { value: FormulaValue; asked: string[] } {
  const asked: string[] = [];
  const all = { ...VALUES, ...values };
  const value = evaluateFormula(compiled(text), (name) => {
    asked.push(name);
    return Object.hasOwn(all, name) ? (all[name] ?? gone("missing")) : gone("no reading");
  });
  return { value, asked };
}

export function valueOf(text: string, values: Readonly<Record<string, FormulaValue>> = {}): FormulaValue {
  return evaluate(text, values).value;
}
