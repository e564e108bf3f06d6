/** What a formula, or a name it refers to, evaluates to. Numbers are always finite. */
export type FormulaValue =
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "boolean"; readonly value: boolean }
  | { readonly kind: "unavailable"; readonly reason: string };

export type ValueKind = "number" | "boolean";

/** A reason a formula cannot be compiled, at a 1-based line and column (counted in characters). */
export interface FormulaProblem {
  readonly message: string;
  readonly line: number;
  readonly column: number;
  /** Said after the position: a suggestion or the way to write it instead. */
  readonly hint?: string;
}

/** The names a formula may use, as the rules of the options define them. */
export interface FormulaEnvironment {
  /** The kind of value a name refers to, or undefined when no such name exists. */
  kindOf(name: string): ValueKind | undefined;
  /** Every valid name, for "did you mean" suggestions. */
  readonly names: readonly string[];
}

export type ArithmeticOperator = "+" | "-" | "*" | "/" | "%" | "**";
export type ComparisonOperator = "<" | "<=" | ">" | ">=" | "==" | "!=";

/**
 * The tree the evaluator walks: only these nodes exist. `at` is the index in the text of the
 * token the node stands for (the operator of an operation, the name of a call, the `?` of a
 * conditional), where problems and reasons point.
 */
export type FormulaNode =
  | { readonly type: "number"; readonly value: number; readonly at: number }
  | { readonly type: "boolean"; readonly value: boolean; readonly at: number }
  | { readonly type: "reference"; readonly name: string; readonly at: number }
  | { readonly type: "negate" | "plus" | "not"; readonly operand: FormulaNode; readonly at: number }
  | {
      readonly type: "arithmetic";
      readonly operator: ArithmeticOperator;
      readonly left: FormulaNode;
      readonly right: FormulaNode;
      readonly at: number;
    }
  | {
      readonly type: "comparison";
      readonly operator: ComparisonOperator;
      readonly left: FormulaNode;
      readonly right: FormulaNode;
      readonly at: number;
    }
  | {
      readonly type: "and" | "or";
      readonly left: FormulaNode;
      readonly right: FormulaNode;
      readonly at: number;
    }
  | {
      readonly type: "conditional";
      readonly test: FormulaNode;
      readonly then: FormulaNode;
      readonly otherwise: FormulaNode;
      readonly at: number;
    }
  | {
      readonly type: "call";
      readonly name: string;
      readonly args: readonly FormulaNode[];
      readonly at: number;
    };

/** A formula that has passed every check; only `evaluateFormula` reads `root` and `referenceKinds`. */
export interface CompiledFormula {
  readonly text: string;
  /** Distinct names referenced, in first-use order, including those in branches not taken. */
  readonly references: readonly string[];
  /** "boolean" when the result is a comparison or logic: a binary sensor. */
  readonly resultKind: ValueKind;
  readonly root: FormulaNode;
  /** The kind each reference had at compile time; a lookup answering another kind is unavailable. */
  readonly referenceKinds: ReadonlyMap<string, ValueKind>;
}
