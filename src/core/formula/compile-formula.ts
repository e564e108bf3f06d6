import { isAvailabilityFunction, NUMERIC_FUNCTIONS, FORMULA_FUNCTIONS } from "./formula-functions.js";
import { problemAt, quote } from "./formula-problems.js";
import type {
  CompiledFormula,
  FormulaEnvironment,
  FormulaNode,
  FormulaProblem,
  ValueKind,
} from "./formula-types.js";
import { parseFormula } from "./parse-formula.js";
import { closestName } from "./suggestions.js";

export type CompileResult =
  | { readonly ok: true; readonly formula: CompiledFormula }
  | { readonly ok: false; readonly problems: readonly FormulaProblem[] };

/**
 * Parses a formula and checks it against the names that exist: unknown references and
 * functions, argument counts and kinds. A syntax error is the only problem reported; otherwise
 * every problem is, each unknown name once.
 */
export function compileFormula(text: string, env: FormulaEnvironment): CompileResult {
  const parsed = parseFormula(text);
  if (!parsed.ok) return { ok: false, problems: [parsed.problem] };
  const checker = new Checker(text, env);
  const resultKind = checker.check(parsed.root);
  if (resultKind === undefined || checker.problems.length > 0)
    return { ok: false, problems: checker.problems };
  const formula = {
    text,
    references: [...checker.kinds.keys()],
    resultKind,
    root: parsed.root,
    referenceKinds: checker.kinds,
  };
  return { ok: true, formula };
}

const FUNCTION_NAMES = FORMULA_FUNCTIONS.map((fn) => fn.name);

/**
 * Gives each node its kind, or undefined once a problem is reported for it, so that one mistake
 * does not cascade into more lines about the same spot.
 *
 * A note on `not`: it binds as tightly as `-` (jsep's unary operators do), where Python and Jinja
 * bind it looser than comparisons. That never changes a result silently: `not a == b` is the same
 * as `not (a == b)` for booleans, and `not x < 3` is refused here, since `not` needs a boolean.
 */
class Checker {
  readonly problems: FormulaProblem[] = [];
  readonly kinds = new Map<string, ValueKind>();
  private readonly unknown = new Set<string>();

  constructor(
    private readonly text: string,
    private readonly env: FormulaEnvironment,
  ) {}

  check(node: FormulaNode): ValueKind | undefined {
    switch (node.type) {
      case "number":
      case "boolean":
        return node.type;
      case "reference":
        return this.reference(node.name, node.at);
      case "negate":
      case "plus":
        return this.need(node.operand, "number", node.type === "negate" ? "-" : "+") ? "number" : undefined;
      case "not": {
        const hint = "not applies to the value right after it; to negate a comparison write not (a < b)";
        return this.need(node.operand, "boolean", "not", hint) ? "boolean" : undefined;
      }
      case "arithmetic": {
        const left = this.need(node.left, "number", node.operator);
        const right = this.need(node.right, "number", node.operator);
        return left && right ? "number" : undefined;
      }
      case "comparison":
        return node.operator === "==" || node.operator === "!=" ? this.equality(node) : this.ordering(node);
      case "and":
      case "or": {
        const left = this.need(node.left, "boolean", node.type);
        const right = this.need(node.right, "boolean", node.type);
        return left && right ? "boolean" : undefined;
      }
      case "conditional": {
        const test = this.need(node.test, "boolean", 'the condition of "? :"');
        const then = this.check(node.then);
        const otherwise = this.check(node.otherwise);
        if (!test || then === undefined || otherwise === undefined) return undefined;
        if (then === otherwise) return then;
        this.report(
          node.at,
          `the two branches of "? :" must be of one kind, got ${article(then)} and ${article(otherwise)}`,
        );
        return undefined;
      }
      case "call":
        return this.call(node);
    }
  }

  private reference(name: string, at: number): ValueKind | undefined {
    const known = this.kinds.get(name);
    if (known !== undefined) return known;
    // Checked rather than trusted: an environment backed by a plain object would answer `constructor`.
    const kind = this.env.kindOf(name);
    if (kind === "number" || kind === "boolean") {
      this.kinds.set(name, kind);
      return kind;
    }
    if (this.unknown.has(name)) return undefined;
    this.unknown.add(name);
    if (NUMERIC_FUNCTIONS.has(name) || isAvailabilityFunction(name)) {
      this.report(at, `${quote(name)} is a function`, `call it: ${name}(…)`);
      return undefined;
    }
    const suggestion = closestName(name, [...this.env.names, "true", "false"]);
    const hint = suggestion === undefined ? undefined : `did you mean ${quote(suggestion)}?`;
    this.report(at, `unknown reference ${quote(name)}`, hint);
    return undefined;
  }

  private equality(node: FormulaNode & { type: "comparison" }): ValueKind | undefined {
    const left = this.check(node.left);
    const right = this.check(node.right);
    if (left === undefined || right === undefined) return undefined;
    if (left === right) return "boolean";
    this.report(
      node.at,
      `${node.operator} compares values of one kind, got ${article(left)} and ${article(right)}`,
    );
    return undefined;
  }

  private ordering(node: FormulaNode & { type: "comparison" }): ValueKind | undefined {
    const hint = node.left.type === "comparison" ? "to test a range write a < b and b < c" : undefined;
    const left = this.need(node.left, "number", node.operator, hint);
    const right = this.need(node.right, "number", node.operator);
    return left && right ? "boolean" : undefined;
  }

  private call(node: FormulaNode & { type: "call" }): ValueKind | undefined {
    const { name, args, at } = node;
    if (name === "available") {
      const kinds = args.map((arg) => this.check(arg));
      return this.arity(name, args.length, 1, 1, at) && kinds[0] !== undefined ? "boolean" : undefined;
    }
    if (name === "coalesce") return this.coalesce(args, at);
    const fn = NUMERIC_FUNCTIONS.get(name);
    if (fn === undefined) {
      args.forEach((arg) => this.check(arg));
      const suggestion = closestName(name, FUNCTION_NAMES);
      const kind = this.env.kindOf(name);
      const hint =
        kind === "number"
          ? `${quote(name)} is a value: to multiply, write ${name} * (…)`
          : suggestion === undefined
            ? `the functions are ${FUNCTION_NAMES.join(", ")}`
            : `did you mean ${quote(suggestion)}?`;
      this.report(at, `unknown function ${quote(name)}`, hint);
      return undefined;
    }
    const fine = args.map((arg, index) => this.need(arg, "number", `argument ${index + 1} of ${name}`));
    const counted = this.arity(name, args.length, fn.minArguments, fn.maxArguments, at);
    return counted && fine.every(Boolean) ? "number" : undefined;
  }

  private coalesce(args: readonly FormulaNode[], at: number): ValueKind | undefined {
    const kinds = args.map((arg) => this.check(arg));
    if (!this.arity("coalesce", args.length, 2, Number.POSITIVE_INFINITY, at)) return undefined;
    const [first] = kinds;
    if (first === undefined || kinds.includes(undefined)) return undefined;
    const odd = kinds.findIndex((kind) => kind !== first);
    if (odd < 0) return first;
    const oddArg = args[odd];
    this.report(
      oddArg === undefined ? at : startOf(oddArg),
      `the arguments of coalesce must be of one kind, got ${article(first)} and ${article(kinds[odd] ?? first)}`,
    );
    return undefined;
  }

  private arity(name: string, count: number, min: number, max: number, at: number): boolean {
    if (count >= min && count <= max) return true;
    const plural = (n: number) => `${n} argument${n === 1 ? "" : "s"}`;
    const takes =
      min === max
        ? plural(min)
        : max === Number.POSITIVE_INFINITY
          ? `at least ${plural(min)}`
          : `${min} or ${plural(max)}`;
    this.report(at, `${name} takes ${takes}, got ${count}`);
    return false;
  }

  /** Whether `node` is of the `expected` kind; reports it when it is known to be of another. */
  private need(node: FormulaNode, expected: ValueKind, purpose: string, hint?: string): boolean {
    const kind = this.check(node);
    if (kind === undefined) return false;
    if (kind === expected) return true;
    this.report(
      startOf(node),
      `expected ${article(expected)} for ${purpose}, got ${describe(node, kind)}`,
      hint,
    );
    return false;
  }

  private report(at: number, message: string, hint?: string): void {
    this.problems.push(problemAt(this.text, at, message, hint));
    return undefined;
  }
}

function article(kind: ValueKind): string {
  return `a ${kind}`;
}

function describe(node: FormulaNode, kind: ValueKind): string {
  if (node.type === "reference") return `the ${kind} ${quote(node.name)}`;
  if (node.type === "number" || node.type === "boolean") return `the ${kind} ${String(node.value)}`;
  return article(kind);
}

/** Where the text of a node begins: the leftmost token under it. */
function startOf(node: FormulaNode): number {
  switch (node.type) {
    case "arithmetic":
    case "comparison":
    case "and":
    case "or":
      return startOf(node.left);
    case "conditional":
      return startOf(node.test);
    default:
      return node.at;
  }
}

/** A name a formula uses, at the index in the text of its first use. */
export interface NameUse {
  readonly name: string;
  readonly at: number;
}

/**
 * The names a formula uses, distinct, in first-use order, before any name is known: what the
 * caller needs to order formula rules (and to point at a reference) before checking them. None
 * when the formula does not parse; compileFormula then says why.
 */
export function referencedNames(text: string): readonly NameUse[] {
  const parsed = parseFormula(text);
  if (!parsed.ok) return [];
  const uses = new Map<string, NameUse>();
  // Depth-first, left to right, as the text reads; the parser has bounded the depth.
  const pending: FormulaNode[] = [parsed.root];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (node.type === "reference" && !uses.has(node.name))
      uses.set(node.name, { name: node.name, at: node.at });
    pending.push(...[...childrenOf(node)].reverse());
  }
  return [...uses.values()];
}

function childrenOf(node: FormulaNode): readonly FormulaNode[] {
  switch (node.type) {
    case "number":
    case "boolean":
    case "reference":
      return [];
    case "negate":
    case "plus":
    case "not":
      return [node.operand];
    case "arithmetic":
    case "comparison":
    case "and":
    case "or":
      return [node.left, node.right];
    case "conditional":
      return [node.test, node.then, node.otherwise];
    case "call":
      return node.args;
  }
}
