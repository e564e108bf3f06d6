import { NUMERIC_FUNCTIONS } from "./formula-functions.js";
import { where } from "./formula-problems.js";
import type { ArithmeticOperator, CompiledFormula, FormulaNode, FormulaValue } from "./formula-types.js";

/**
 * The value of a compiled formula, given the current value of each name it references.
 *
 * Left to right, and lazily: `and` and `or` look at their right side only when the left does not
 * decide, `? :` evaluates only the branch taken, `coalesce` stops at the first available argument.
 * Whatever is evaluated and unavailable makes the formula unavailable, with a reason naming it,
 * unless `available()` or `coalesce()` takes it. Never throws (unless `lookup` does), and never
 * gives NaN or an infinity: a division by zero and the like is unavailable, saying where.
 *
 * The checker has made sure of every kind, so a number is expected where a number is needed;
 * `lookup` is asked only for the formula's references, and its answer is checked all the same.
 */
export function evaluateFormula(
  formula: CompiledFormula,
  lookup: (name: string) => FormulaValue,
): FormulaValue {
  const at = (index: number): string => where(formula.text, index);

  function reference(name: string): FormulaValue {
    const value = lookup(name);
    const expected = formula.referenceKinds.get(name);
    if (value.kind === "unavailable") return unavailable(`${name} is unavailable: ${value.reason}`);
    if (value.kind !== expected) return unavailable(`${name} is a ${value.kind}, not a ${String(expected)}`);
    if (value.kind === "number") return finite(value.value, () => `${name} is not a finite number`);
    return value;
  }

  function evaluate(node: FormulaNode): FormulaValue {
    switch (node.type) {
      case "number":
        return number(node.value);
      case "boolean":
        return boolean(node.value);
      case "reference":
        return reference(node.name);
      case "negate":
      case "plus": {
        const operand = evaluate(node.operand);
        if (operand.kind !== "number") return operand;
        return number(node.type === "negate" ? -operand.value : operand.value);
      }
      case "not": {
        const operand = evaluate(node.operand);
        return operand.kind === "boolean" ? boolean(!operand.value) : operand;
      }
      case "arithmetic": {
        const left = evaluate(node.left);
        if (left.kind !== "number") return left;
        const right = evaluate(node.right);
        if (right.kind !== "number") return right;
        return arithmetic(node.operator, left.value, right.value, node.at);
      }
      case "comparison": {
        const left = evaluate(node.left);
        if (left.kind === "unavailable") return left;
        const right = evaluate(node.right);
        if (right.kind === "unavailable") return right;
        if (node.operator === "==") return boolean(left.value === right.value);
        if (node.operator === "!=") return boolean(left.value !== right.value);
        if (left.kind !== "number" || right.kind !== "number") return unchecked(node.at);
        return boolean(order(node.operator, left.value, right.value));
      }
      case "and":
      case "or": {
        const left = evaluate(node.left);
        // false and …, true or …: decided without the right side.
        if (left.kind !== "boolean" || left.value === (node.type === "or")) return left;
        return evaluate(node.right);
      }
      case "conditional": {
        const test = evaluate(node.test);
        if (test.kind !== "boolean") return test;
        return evaluate(test.value ? node.then : node.otherwise);
      }
      case "call":
        return call(node);
    }
  }

  function call({ name, args, at: index }: FormulaNode & { type: "call" }): FormulaValue {
    if (name === "available") {
      const [argument] = args;
      return argument === undefined ? unchecked(index) : boolean(evaluate(argument).kind !== "unavailable");
    }
    if (name === "coalesce") {
      let last: FormulaValue = unchecked(index);
      for (const argument of args) {
        last = evaluate(argument);
        if (last.kind !== "unavailable") return last;
      }
      return last;
    }
    const fn = NUMERIC_FUNCTIONS.get(name);
    if (fn === undefined) return unchecked(index);
    const values: number[] = [];
    for (const argument of args) {
      const value = evaluate(argument);
      if (value.kind !== "number") return value;
      values.push(value.value);
    }
    const outcome = fn.apply(values);
    if (typeof outcome !== "number") return unavailable(`${outcome.unavailable} at ${at(index)}`);
    return finite(outcome, (problem) => `the result of ${name} ${problem} at ${at(index)}`);
  }

  function arithmetic(operator: ArithmeticOperator, a: number, b: number, index: number): FormulaValue {
    if (b === 0 && operator === "/") return unavailable(`division by zero at ${at(index)}`);
    if (b === 0 && operator === "%") return unavailable(`% by zero at ${at(index)}`);
    const result = compute(operator, a, b);
    return finite(result, (problem) => `the result of ${operator} ${problem} at ${at(index)}`);
  }

  function unchecked(index: number): FormulaValue {
    return unavailable(`internal error: the formula was not checked as compiled, at ${at(index)}`);
  }

  return evaluate(formula.root);
}

function compute(operator: ArithmeticOperator, a: number, b: number): number {
  switch (operator) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return a / b;
    case "%":
      return a % b;
    case "**":
      return a ** b;
  }
}

function order(operator: "<" | "<=" | ">" | ">=", a: number, b: number): boolean {
  switch (operator) {
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
}

function number(value: number): FormulaValue {
  return { kind: "number", value: value === 0 ? 0 : value }; // no -0 in a published state
}

function boolean(value: boolean): FormulaValue {
  return { kind: "boolean", value };
}

function unavailable(reason: string): FormulaValue {
  return { kind: "unavailable", reason };
}

/** A finite number, or unavailable with the reason `describe` words ("is too large"). */
function finite(value: number, describe: (problem: string) => string): FormulaValue {
  if (Number.isFinite(value)) return number(value);
  return unavailable(describe(Number.isNaN(value) ? "is not a real number" : "is too large"));
}
