/** A numeric function's result, or why it has none (the evaluator adds where in the formula). */
export type NumericOutcome = number | { readonly unavailable: string };

interface Documented {
  readonly name: string;
  /** As DOCS.md and problems show them; `[, digits]` is optional, `…` repeats. */
  readonly arguments: string;
  readonly description: string;
}

/** Takes numbers, gives a number; any argument unavailable makes the call unavailable. */
export interface NumericFunction extends Documented {
  readonly minArguments: number;
  readonly maxArguments: number;
  readonly apply: (args: readonly number[]) => NumericOutcome;
}

/**
 * Takes values of any kind, may be unavailable ones: the evaluator handles these itself.
 * `available(x)` gives a boolean; `coalesce(x, y, …)` the first of its arguments that has a value.
 */
export const AVAILABILITY_FUNCTIONS = ["available", "coalesce"] as const;
export type AvailabilityFunctionName = (typeof AVAILABILITY_FUNCTIONS)[number];

/**
 * Magnus-form saturation vapour pressure over water, with the constants of Alduchov and
 * Eskridge (1996, J. Appl. Meteor. 35, 601–609) that Lawrence (2005, BAMS 86, 225–233)
 * recommends: within 0.4 % of the reference values from −40 °C to 50 °C.
 */
const MAGNUS_A = 17.625;
const MAGNUS_B_C = 243.04;
const MAGNUS_C_PA = 610.94;
const WATER_MOLAR_MASS_G_PER_MOL = 18.01528;
const GAS_CONSTANT_J_PER_MOL_K = 8.314462618;

const ANY = Number.POSITIVE_INFINITY;

function define(
  name: string,
  args: string,
  [minArguments, maxArguments]: readonly [number, number],
  description: string,
  apply: (args: readonly number[]) => NumericOutcome,
): NumericFunction {
  return { name, arguments: args, description, minArguments, maxArguments, apply };
}

// Arguments default to 0 only to satisfy the type checker: the compiler has counted them.
const NUMERIC_FUNCTION_LIST: readonly NumericFunction[] = [
  define("abs", "x", [1, 1], "the value without its sign", ([x = 0]) => Math.abs(x)),
  define("min", "x, …", [1, ANY], "the smallest of the values", (xs) => xs.reduce((a, b) => (b < a ? b : a))),
  define("max", "x, …", [1, ANY], "the largest of the values", (xs) => xs.reduce((a, b) => (b > a ? b : a))),
  define(
    "round",
    "x[, digits]",
    [1, 2],
    "rounded to `digits` decimals (default 0; from -10 to 10), halves away from zero",
    ([x = 0, digits = 0]) => roundTo(x, digits),
  ),
  define("floor", "x", [1, 1], "the whole number at or below x", ([x = 0]) => Math.floor(x)),
  define("ceil", "x", [1, 1], "the whole number at or above x", ([x = 0]) => Math.ceil(x)),
  define("sqrt", "x", [1, 1], "the square root", ([x = 0]) =>
    x < 0 ? { unavailable: "sqrt of a negative number" } : Math.sqrt(x),
  ),
  define("pow", "x, y", [2, 2], "x to the power y, as x ** y", ([x = 0, y = 0]) => x ** y),
  define("exp", "x", [1, 1], "e to the power x", ([x = 0]) => Math.exp(x)),
  define("log", "x[, base]", [1, 2], "the natural logarithm, or the logarithm to `base`", ([x = 0, base]) =>
    logarithm(x, base),
  ),
  define(
    "clamp",
    "x, low, high",
    [3, 3],
    "x, but at least `low` and at most `high`",
    ([x = 0, low = 0, high = 0]) => clamp(x, low, high),
  ),
  define(
    "dewpoint",
    "temperature_c, humidity_pct",
    [2, 2],
    "the dew point in °C (Magnus formula) from a temperature in °C and a relative humidity in %",
    ([t = 0, rh = 0]) => humidityProblem("dewpoint", t, rh) ?? dewpoint(t, rh),
  ),
  define(
    "absolute_humidity",
    "temperature_c, humidity_pct",
    [2, 2],
    "the water in the air in g/m³ from a temperature in °C and a relative humidity in %",
    ([t = 0, rh = 0]) => humidityProblem("absolute_humidity", t, rh) ?? absoluteHumidity(t, rh),
  ),
];

/** Looked up by name in a Map, never as a property: `constructor` is just an unknown function. */
export const NUMERIC_FUNCTIONS: ReadonlyMap<string, NumericFunction> = new Map(
  NUMERIC_FUNCTION_LIST.map((fn) => [fn.name, fn]),
);

/** Every function a formula can call, for DOCS.md and problems. */
export const FORMULA_FUNCTIONS: readonly Documented[] = [
  ...NUMERIC_FUNCTION_LIST.map(({ name, arguments: args, description }) => ({
    name,
    arguments: args,
    description,
  })),
  { name: "available", arguments: "x", description: "true when x has a value, false when it is unavailable" },
  { name: "coalesce", arguments: "x, y, …", description: "the first of the values that is available" },
];

export function isAvailabilityFunction(name: string): name is AvailabilityFunctionName {
  return (AVAILABILITY_FUNCTIONS as readonly string[]).includes(name);
}

function roundTo(x: number, digits: number): NumericOutcome {
  if (!Number.isInteger(digits) || Math.abs(digits) > 10)
    return { unavailable: `round's digits must be a whole number from -10 to 10, got ${digits}` };
  if (Math.abs(x) >= 2 ** 52 && digits >= 0) return x; // already whole; scaling could overflow
  const factor = 10 ** Math.abs(digits);
  const scaled = digits >= 0 ? x * factor : x / factor;
  // 1.005 * 100 is 100.49999999999999: 15 significant digits undo that, so 1.005 rounds to 1.01.
  const cleaned = Number(scaled.toPrecision(15));
  const rounded = Math.sign(cleaned) * Math.round(Math.abs(cleaned));
  return digits >= 0 ? rounded / factor : rounded * factor;
}

function clamp(x: number, low: number, high: number): NumericOutcome {
  if (low > high) return { unavailable: `clamp's low ${low} is above its high ${high}` };
  return Math.min(Math.max(x, low), high);
}

function logarithm(x: number, base: number | undefined): NumericOutcome {
  if (x <= 0) return { unavailable: "log of zero or a negative number" };
  if (base === undefined) return Math.log(x);
  if (base <= 0 || base === 1) return { unavailable: `log's base must be above 0 and not 1, got ${base}` };
  // Math.log(1000) / Math.log(10) is 2.9999999999999996; the dedicated ones are exact for powers.
  if (base === 10) return Math.log10(x);
  if (base === 2) return Math.log2(x);
  return Math.log(x) / Math.log(base);
}

function humidityProblem(name: string, temperature: number, humidity: number): NumericOutcome | undefined {
  if (!(humidity > 0 && humidity <= 100))
    return { unavailable: `${name} needs a humidity above 0 and at most 100 %, got ${humidity}` };
  // The Magnus formula has a pole at -243.04 °C; no air is that cold, but a broken sensor may say so.
  if (temperature <= -MAGNUS_B_C)
    return { unavailable: `${name} needs a temperature above -243.04 °C, got ${temperature}` };
  return undefined;
}

function dewpoint(temperature: number, humidity: number): number {
  const gamma = Math.log(humidity / 100) + (MAGNUS_A * temperature) / (MAGNUS_B_C + temperature);
  return (MAGNUS_B_C * gamma) / (MAGNUS_A - gamma);
}

function absoluteHumidity(temperature: number, humidity: number): number {
  const saturationPa = MAGNUS_C_PA * Math.exp((MAGNUS_A * temperature) / (MAGNUS_B_C + temperature));
  const vapourPa = (humidity / 100) * saturationPa;
  // Ideal gas: Pa · g/mol / (J/(mol·K) · K) is g/m³.
  return (vapourPa * WATER_MOLAR_MASS_G_PER_MOL) / (GAS_CONSTANT_J_PER_MOL_K * (temperature + 273.15));
}
