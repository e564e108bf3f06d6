import type jsepTypes from "jsep";
import { problemAt, quote } from "./formula-problems.js";
import type { ArithmeticOperator, ComparisonOperator, FormulaNode, FormulaProblem } from "./formula-types.js";
import { jsep } from "./jsep-setup.js";

type JsepNode = jsepTypes.Expression;

export const MAX_FORMULA_LENGTH = 2000;
export const MAX_FORMULA_NODES = 500;
/** Operations, calls and parentheses nested in each other; the evaluator recurses this deep. */
export const MAX_FORMULA_DEPTH = 50;

export type ParseResult =
  | { readonly ok: true; readonly root: FormulaNode }
  | { readonly ok: false; readonly problem: FormulaProblem };

/**
 * The formula tree of a text, or the first reason there is none: a syntax error, a construct
 * the language does not have, or a limit. Names, functions and kinds are checked afterwards.
 */
export function parseFormula(text: string): ParseResult {
  if (text.trim() === "") return { ok: false, problem: problemAt(text, 0, "the formula is empty") };
  if (text.length > MAX_FORMULA_LENGTH)
    return {
      ok: false,
      problem: problemAt(
        text,
        MAX_FORMULA_LENGTH,
        `the formula is longer than ${MAX_FORMULA_LENGTH} characters`,
      ),
    };
  // jsep recurses per parenthesis: bound the nesting before it runs, so the stack cannot overflow.
  const tooDeep = deepNesting(text);
  if (tooDeep !== undefined) return { ok: false, problem: nestedTooDeeply(text, tooDeep) };
  let tree: JsepNode;
  try {
    tree = jsep(text);
  } catch (error) {
    if (error instanceof RangeError) return { ok: false, problem: nestedTooDeeply(text, 0) };
    if (!isJsepError(error)) throw error;
    return { ok: false, problem: syntaxProblem(text, error) };
  }
  try {
    return { ok: true, root: new Converter(text).convertAll(tree) };
  } catch (error) {
    if (error instanceof Refused) return { ok: false, problem: error.problem };
    throw error;
  }
}

/** A construct the language refuses; thrown inside the conversion, which stops at the first. */
class Refused extends Error {
  constructor(readonly problem: FormulaProblem) {
    super(problem.message);
  }
}

const ARITHMETIC = new Set<string>(["+", "-", "*", "/", "%", "**"]);
const COMPARISON = new Set<string>(["<", "<=", ">", ">=", "==", "!="]);
const INSTEAD: ReadonlyMap<string, string> = new Map([
  ["&&", 'write "and"'],
  ["||", 'write "or"'],
  ["!", 'write "not"'],
  ["===", 'write "=="'],
  ["!==", 'write "!="'],
  ["^", 'for a power write "**"'],
]);

/**
 * Turns jsep's tree into the formula tree. jsep keeps no positions, so a cursor walks the text
 * in step, token by token, in the order the tree holds them (left operand, operator, right
 * operand; a function's name, its arguments): each node learns where its token is.
 */
class Converter {
  private readonly cursor: TokenCursor;
  private nodes = 0;

  constructor(private readonly text: string) {
    this.cursor = new TokenCursor(text);
  }

  convertAll(tree: JsepNode): FormulaNode {
    const root = this.convert(tree, 1);
    const rest = this.cursor.peekAfter();
    if (rest < this.text.length) this.refuse(rest, `unexpected ${this.charAt(rest)}`);
    return root;
  }

  private convert(node: JsepNode, depth: number): FormulaNode {
    if (depth > MAX_FORMULA_DEPTH) throw new Refused(nestedTooDeeply(this.text, this.cursor.peekStart()));
    if (++this.nodes > MAX_FORMULA_NODES)
      this.refuse(this.cursor.peekStart(), `the formula has more than ${MAX_FORMULA_NODES} parts`);
    const next = depth + 1;
    switch (node.type) {
      case "Literal":
        return this.literal(node as jsepTypes.Literal);
      case "Identifier": {
        const { name } = node as jsepTypes.Identifier;
        return { type: "reference", name, at: this.cursor.take(name) };
      }
      case "ThisExpression":
        // Nothing special here: `this` is a name like any other, and no rule has it.
        return { type: "reference", name: "this", at: this.cursor.take("this") };
      case "UnaryExpression": {
        const { operator, argument } = node as jsepTypes.UnaryExpression;
        const at = this.cursor.take(operator);
        const instead = INSTEAD.get(operator);
        if (instead !== undefined) this.refuse(at, `${quote(operator)} is not part of the language`, instead);
        const type = operator === "-" ? "negate" : operator === "+" ? "plus" : "not";
        return { type, operand: this.convert(argument, next), at };
      }
      case "BinaryExpression":
        return this.binary(node as jsepTypes.BinaryExpression, next);
      case "ConditionalExpression": {
        const conditional = node as jsepTypes.ConditionalExpression;
        const test = this.convert(conditional.test, next);
        const at = this.cursor.take("?");
        const then = this.convert(conditional.consequent, next);
        this.cursor.take(":");
        return { type: "conditional", test, then, otherwise: this.convert(conditional.alternate, next), at };
      }
      case "CallExpression":
        return this.call(node as jsepTypes.CallExpression, next);
      case "MemberExpression":
        this.convert((node as jsepTypes.MemberExpression).object, next);
        return this.refuse(
          this.cursor.peekAfter(),
          "reading a part of a value (. or [ ]) is not part of the language",
        );
      case "Compound":
      case "SequenceExpression": {
        const parts =
          node.type === "Compound"
            ? (node as jsepTypes.Compound).body
            : (node as jsepTypes.SequenceExpression).expressions;
        if (parts[0] !== undefined) this.convert(parts[0], next);
        const at = this.cursor.peekAfter();
        const separator = this.text[at] === "," || this.text[at] === ";";
        if (parts[0] === undefined && !separator) return this.refuse(at, "expected a value in ( )");
        return separator
          ? this.refuse(
              at,
              `unexpected ${this.charAt(at)}`,
              "a formula is one expression; commas only separate arguments",
            )
          : this.refuse(at, `expected an operator before ${this.charAt(at)}`);
      }
      case "ArrayExpression":
        return this.refuse(this.cursor.peekStart(), "lists in [ ] are not part of the language");
      default:
        return this.refuse(this.cursor.peekStart(), "this expression is not part of the language");
    }
  }

  private literal(node: jsepTypes.Literal): FormulaNode {
    const start = this.cursor.peekStart();
    if (typeof node.value === "number") {
      const at = this.cursor.take(node.raw);
      if (!Number.isFinite(node.value)) this.refuse(at, `the number ${quote(node.raw)} is too large`);
      return { type: "number", value: node.value, at };
    }
    if (typeof node.value === "boolean")
      return { type: "boolean", value: node.value, at: this.cursor.take(node.raw) };
    return this.refuse(
      start,
      "text in quotes is not part of the language",
      "formulas work on numbers and true/false",
    );
  }

  private binary(node: jsepTypes.BinaryExpression, depth: number): FormulaNode {
    const { operator } = node;
    // -2 ** 2 is 4 to jsep but -4 in mathematics; JavaScript refuses it for that reason, and so do we.
    const unaryBase = operator === "**" && node.left.type === "UnaryExpression";
    const depthAtBase = this.cursor.depthAtNext();
    const left = this.convert(node.left, depth);
    const at = this.cursor.take(operator);
    if (unaryBase && this.cursor.depth >= depthAtBase)
      this.refuse(at, "a sign before a power is ambiguous", "write (-x) ** y or -(x ** y)");
    const instead = INSTEAD.get(operator);
    if (instead !== undefined) this.refuse(at, `${quote(operator)} is not part of the language`, instead);
    const right = this.convert(node.right, depth);
    if (ARITHMETIC.has(operator))
      return { type: "arithmetic", operator: operator as ArithmeticOperator, left, right, at };
    if (COMPARISON.has(operator))
      return { type: "comparison", operator: operator as ComparisonOperator, left, right, at };
    if (operator === "and" || operator === "or") return { type: operator, left, right, at };
    return this.refuse(at, `${quote(operator)} is not part of the language`);
  }

  private call(node: jsepTypes.CallExpression, depth: number): FormulaNode {
    if (node.callee.type !== "Identifier") {
      this.convert(node.callee, depth);
      return this.refuse(this.cursor.peekAfter(), 'expected an operator before "("');
    }
    const { name } = node.callee as jsepTypes.Identifier;
    const at = this.cursor.take(name);
    // jsep also calls `(a) (b)` and `a?.(b)`: only a name right before its "(" is a call here.
    const open = this.cursor.peek();
    if (this.text[open] === ")") this.refuse(this.cursor.peekAfter(), 'expected an operator before "("');
    if (this.text[open] !== "(") this.refuse(open, `unexpected ${this.charAt(open)}`);
    const depthInside = this.cursor.depth;
    this.cursor.take("(");
    const args = node.arguments.map((argument, index) => {
      // jsep also takes arguments separated by blanks alone, `max(a b)`.
      if (index > 0 && this.cursor.takeIf(",") === undefined)
        this.refuse(
          this.cursor.peekAfter(),
          `expected "," or ")", found ${this.charAt(this.cursor.peekAfter())}`,
        );
      return this.convert(argument, depth);
    });
    this.cursor.closeCall(depthInside);
    return { type: "call", name, args, at };
  }

  private charAt(index: number): string {
    const code = this.text.codePointAt(index);
    return code === undefined ? "end of the formula" : quote(String.fromCodePoint(code));
  }

  private refuse(index: number, message: string, hint?: string): never {
    throw new Refused(problemAt(this.text, index, message, hint));
  }
}

const BLANKS = new Set([" ", "\t", "\n", "\r"]); // what jsep skips between tokens

/** Finds tokens in the text in the order the tree holds them; grouping parentheses are skipped. */
class TokenCursor {
  private index = 0;
  /** Grouping parentheses open before the cursor; jsep leaves them out of its tree. */
  depth = 0;

  constructor(private readonly text: string) {}

  /** The index of `token`, the next thing in the text after blanks and grouping parentheses. */
  take(token: string): number {
    for (;;) {
      if (this.text.startsWith(token, this.index)) {
        const at = this.index;
        this.index += token.length;
        return at;
      }
      const char = this.text[this.index];
      if (char === "(") this.depth += 1;
      else if (char === ")") this.depth -= 1;
      else if (char === "," || char === ";")
        // jsep skips separators between expressions, even before the first one.
        throw new Refused(problemAt(this.text, this.index, `unexpected ${quote(char)}`));
      else if (char === undefined || !BLANKS.has(char)) break;
      this.index += 1;
    }
    // jsep parsed what the cursor cannot follow: a bug here, not a problem with the formula.
    throw new Error(`formula cursor out of step: expected ${JSON.stringify(token)} at ${this.index}`);
  }

  /** Like `take` for a token that follows the closing parentheses of what came before; undefined when it does not. */
  takeIf(token: string): number | undefined {
    return this.text.startsWith(token, this.peekAfter()) ? this.take(token) : undefined;
  }

  /** Takes the `)` of a call, after the grouping parentheses closed inside its arguments. */
  closeCall(depthInside: number): void {
    while (this.depth > depthInside) {
      this.take(")");
      this.depth -= 1;
    }
    this.take(")");
  }

  /** The grouping depth at the next token. */
  depthAtNext(): number {
    let depth = this.depth;
    for (let at = this.index; at < this.text.length; at += 1) {
      const char = this.text[at] ?? "";
      if (char === "(") depth += 1;
      else if (char === ")") depth -= 1;
      else if (!BLANKS.has(char)) break;
    }
    return depth;
  }

  /** Where the next thing starts, past blanks. */
  peek(): number {
    return this.skip((char) => BLANKS.has(char));
  }

  /** Where the next thing starts, past blanks and opening parentheses. */
  peekStart(): number {
    return this.skip((char) => char === "(" || BLANKS.has(char));
  }

  /** Where the next thing starts, past blanks and closing parentheses. */
  peekAfter(): number {
    return this.skip((char) => char === ")" || BLANKS.has(char));
  }

  private skip(skippable: (char: string) => boolean): number {
    let at = this.index;
    while (at < this.text.length && skippable(this.text[at] ?? "")) at += 1;
    return at;
  }
}

/** The index of the first parenthesis or bracket nested deeper than the limit, if any. */
function deepNesting(text: string): number | undefined {
  let depth = 0;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (char === "(" || char === "[") {
      depth += 1;
      if (depth > MAX_FORMULA_DEPTH) return index;
    } else if (char === ")" || char === "]") {
      depth -= 1;
    }
  }
  return undefined;
}

function nestedTooDeeply(text: string, index: number): FormulaProblem {
  return problemAt(
    text,
    index,
    `the formula is nested more than ${MAX_FORMULA_DEPTH} levels deep`,
    "split it into several formula rules",
  );
}

interface JsepError {
  readonly index: number;
  readonly description: string;
}

function isJsepError(error: unknown): error is JsepError {
  return (
    error instanceof Error &&
    typeof (error as Partial<JsepError>).index === "number" &&
    typeof (error as Partial<JsepError>).description === "string"
  );
}

/** jsep's message in the words of this language, at the character it points to. */
function syntaxProblem(text: string, error: JsepError): FormulaProblem {
  const { description } = error;
  const index = Math.min(error.index, text.length);
  const code = text.codePointAt(index);
  const found = code === undefined ? "the end of the formula" : quote(String.fromCodePoint(code));
  if (description.startsWith("Unclosed (") || description === "Expected )") {
    return problemAt(text, unclosedParenthesis(text) ?? index, 'unclosed "("');
  }
  if (description.startsWith("Unclosed quote"))
    return problemAt(text, text.search(/["']/), "text in quotes is not part of the language");
  if (description.startsWith("Unexpected token "))
    return problemAt(text, index - 1, `unexpected ${quote(description.slice("Unexpected token ".length))}`);
  // jsep reads "()" as nothing and complains after it, or at its ")".
  const empty = /\(\s*\)\s*$/.exec(text.slice(0, text[index] === ")" ? index + 1 : index));
  if (empty !== null && (description.startsWith("Expected expression") || description === 'Unexpected ")"'))
    return problemAt(text, empty.index, "expected a value in ( )");
  if (description.startsWith("Expected expression after ")) {
    const operator = description.slice("Expected expression after ".length);
    return problemAt(text, index, `expected a value after ${quote(operator)}, found ${found}`);
  }
  if (description === "missing unaryOp argument" || description === "Expected expression")
    return problemAt(text, index, `expected a value, found ${found}`);
  if (description === "Expected :") return problemAt(text, index, `expected ":" of "? :", found ${found}`);
  if (description === "Expected comma") return problemAt(text, index, `expected "," or ")", found ${found}`);
  if (description === "Unexpected period")
    return problemAt(text, text.lastIndexOf(".", index), 'unexpected "."');
  if (description.startsWith("Expected exponent")) return problemAt(text, index, "the number is incomplete");
  if (code === undefined) return problemAt(text, index, "the formula ends too early");
  const hint = text[index] === "=" && text[index + 1] !== ">" ? 'to compare, write "=="' : undefined;
  return problemAt(text, index, `unexpected ${found}`, hint);
}

/** The innermost "(" that is never closed. */
function unclosedParenthesis(text: string): number | undefined {
  const open: number[] = [];
  for (let index = 0; index < text.length; index += 1) {
    if (text[index] === "(") open.push(index);
    else if (text[index] === ")") open.pop();
  }
  return open.at(-1);
}
