/**
 * The functions a rule can apply to its fresh readings. Numeric ones become sensors; the
 * binary ones (`all`, `any`, `none`) become binary sensors; `count_on` counts like a sensor.
 */
export const NUMERIC_FUNCTIONS = [
  "mean",
  "median",
  "min",
  "max",
  "sum",
  "count",
  "range",
  "stdev",
  "last",
] as const;
export const BINARY_FUNCTIONS = ["all", "any", "none"] as const;
export const ON_VALUE_FUNCTIONS = [...BINARY_FUNCTIONS, "count_on"] as const;
export const FUNCTION_NAMES = [...NUMERIC_FUNCTIONS, ...ON_VALUE_FUNCTIONS] as const;

export type NumericFunctionName = (typeof NUMERIC_FUNCTIONS)[number];
export type BinaryFunctionName = (typeof BINARY_FUNCTIONS)[number];
export type FunctionName = (typeof FUNCTION_NAMES)[number];

export function isBinaryFunction(name: FunctionName): name is BinaryFunctionName {
  return (BINARY_FUNCTIONS as readonly string[]).includes(name);
}

export function usesOnValue(name: FunctionName): name is BinaryFunctionName | "count_on" {
  return (ON_VALUE_FUNCTIONS as readonly string[]).includes(name);
}

/** Numbers to aggregate: a list, or the typed array a read gathers them in. */
export type Numbers = readonly number[] | Float64Array;

/**
 * Applies a numeric function to at least one value; callers handle the empty case (no value).
 * `last` is not here: it needs the times the values were received, which the caller tracks.
 */
export function applyNumeric(name: Exclude<NumericFunctionName, "last">, values: Numbers): number {
  switch (name) {
    case "mean":
      return sum(values) / values.length;
    case "median":
      return median(values);
    case "min":
      return smallest(values);
    case "max":
      return largest(values);
    case "sum":
      return sum(values);
    case "count":
      return values.length;
    case "range":
      return largest(values) - smallest(values);
    case "stdev":
      return populationStdev(values);
  }
}

/** Applies a binary function to whether each input equals `on_value`. */
export function applyBinary(name: BinaryFunctionName, matches: readonly boolean[]): boolean {
  switch (name) {
    case "all":
      return matches.every(Boolean);
    case "any":
      return matches.some(Boolean);
    case "none":
      return !matches.some(Boolean);
  }
}

// Neumaier summation: averages of many close readings stay exact to the last digit that matters.
function sum(values: Numbers): number {
  let total = 0;
  let compensation = 0;
  for (const value of values) {
    const next = total + value;
    compensation += Math.abs(total) >= Math.abs(value) ? total - next + value : value - next + total;
    total = next;
  }
  return total + compensation;
}

// Loops rather than Math.min(...values): spreading 100,000 arguments overflows the stack.
function smallest(values: Numbers): number {
  let result = Number.POSITIVE_INFINITY;
  for (const value of values) if (value < result) result = value;
  return result;
}

function largest(values: Numbers): number {
  let result = Number.NEGATIVE_INFINITY;
  for (const value of values) if (value > result) result = value;
  return result;
}

function median(values: Numbers): number {
  // A typed array sorts numerically, without a comparison function to call.
  const sorted = Float64Array.from(values).sort();
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? Number.NaN) + upper) / 2;
}

/**
 * Population standard deviation: the inputs are every sensor of the group, not a sample of
 * them, and one reading has a spread of 0 rather than no value.
 */
function populationStdev(values: Numbers): number {
  const mean = sum(values) / values.length;
  const squares = Float64Array.from(values, (value) => (value - mean) ** 2);
  return Math.sqrt(sum(squares) / values.length);
}
