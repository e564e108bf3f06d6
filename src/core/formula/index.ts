/**
 * Formulas: expressions over the values of other rules, such as
 * `living_room_temperature - outside_temperature` or `dewpoint(temperature, humidity)`.
 * Pure: no I/O, no clock. What names exist and what they hold is the caller's business.
 *
 * ```ts
 * const compiled = compileFormula(text, { kindOf: (name) => kinds.get(name), names: [...kinds.keys()] });
 * if (!compiled.ok) for (const problem of compiled.problems) log(`${where}.formula: ${formatProblem(problem)}`);
 * else evaluateFormula(compiled.formula, (name) => currentValueOf(name)); // at each read
 * ```
 *
 * - `compileFormula(text, env)`: parses and checks once, at start. `{ ok: false, problems }`
 *   lists a syntax error, a construct the language lacks or a limit (`MAX_FORMULA_LENGTH`
 *   characters, `MAX_FORMULA_NODES` parts, `MAX_FORMULA_DEPTH` levels), which stop at the first;
 *   else every unknown reference and function (with "did you mean"), argument count and kind.
 *   Each problem has a message, a 1-based line and column, and maybe a hint said after them.
 *   A compiled formula has its `references` (distinct, in first-use order, branches not taken
 *   included: what it depends on) and its `resultKind`: "boolean" makes a binary sensor.
 * - `evaluateFormula(formula, lookup)`: the value now; never throws (unless `lookup` does), and
 *   every failure is `{ kind: "unavailable", reason }` naming the reference or the position.
 *   Short-circuits `and`/`or`/`? :`/`coalesce`, so `lookup` may not be asked for every reference.
 * - `orderByDependencies(map)`: the order to compute formula rules in (map each formula rule's
 *   key to the keys it references; other keys are ignored), or a cycle `["a", "b", "a"]`.
 * - `referencedNames(text)`: the names a formula uses and where, before any is known (to order
 *   formula rules before compiling them); none when it does not parse.
 * - `problemAt(text, index, message, hint?)`: a problem of the caller's own about a formula
 *   (a reference that is known but cannot be used there), positioned like the engine's.
 * - `formatProblem(problem)`: one line, e.g.
 *   `unknown reference "living_room_temp" at 1:1; did you mean "living_room_temperature"?`.
 * - `FORMULA_FUNCTIONS`: name, arguments and description of every function, for docs and hints.
 *
 * References are names the environment knows: rule keys (`living_room_temperature`) and keys of
 * fanned-out entities (`room_temperature__kitchen`). Names are plain identifiers, which may start
 * with a digit (`2nd_floor_temperature`); `true`, `false`, `and`, `or`, `not` are words of the
 * language, not names. Back the environment with a Map, not a plain object.
 */
export { compileFormula, referencedNames, type CompileResult, type NameUse } from "./compile-formula.js";
export { orderByDependencies, type DependencyOrder } from "./dependency-order.js";
export { evaluateFormula } from "./evaluate-formula.js";
export { FORMULA_FUNCTIONS } from "./formula-functions.js";
export { formatProblem, problemAt } from "./formula-problems.js";
export type {
  CompiledFormula,
  FormulaEnvironment,
  FormulaProblem,
  FormulaValue,
  ValueKind,
} from "./formula-types.js";
export { MAX_FORMULA_DEPTH, MAX_FORMULA_LENGTH, MAX_FORMULA_NODES } from "./parse-formula.js";
