/**
 * Units the add-on converts between, so that one rule can read a °F Tasmota next to a °C Zigbee
 * sensor, or a plug in kW next to one in W. Each unit is a linear map onto its dimension's base
 * unit: base = value × scale + offset.
 */

export type Dimension = "temperature" | "power" | "energy";

export interface ReadingUnit {
  /** As Home Assistant writes it: °C, kW, MWh. */
  readonly symbol: string;
  readonly dimension: Dimension;
  readonly scale: number;
  readonly offset: number;
}

const UNITS: readonly ReadingUnit[] = [
  { symbol: "°C", dimension: "temperature", scale: 1, offset: 0 },
  { symbol: "°F", dimension: "temperature", scale: 5 / 9, offset: -32 * (5 / 9) },
  { symbol: "K", dimension: "temperature", scale: 1, offset: -273.15 },
  { symbol: "mW", dimension: "power", scale: 0.001, offset: 0 },
  { symbol: "W", dimension: "power", scale: 1, offset: 0 },
  { symbol: "kW", dimension: "power", scale: 1_000, offset: 0 },
  { symbol: "MW", dimension: "power", scale: 1_000_000, offset: 0 },
  { symbol: "Wh", dimension: "energy", scale: 1, offset: 0 },
  { symbol: "kWh", dimension: "energy", scale: 1_000, offset: 0 },
  { symbol: "MWh", dimension: "energy", scale: 1_000_000, offset: 0 },
];

/** How devices spell units in payloads and how people type them: Tasmota's TempUnit says "C". */
const ALIASES: Readonly<Record<string, string>> = {
  C: "°C",
  F: "°F",
  ºC: "°C",
  ºF: "°F",
  degC: "°C",
  degF: "°F",
};

const BY_SYMBOL = new Map(UNITS.map((unit) => [unit.symbol, unit]));

/** The unit named by `text`, or undefined when the add-on does not convert it. Case matters: mW is not MW. */
export function unitNamed(text: string): ReadingUnit | undefined {
  const trimmed = text.trim();
  return BY_SYMBOL.get(ALIASES[trimmed] ?? trimmed);
}

export function convertibleSymbols(dimension: Dimension): string[] {
  return UNITS.filter((unit) => unit.dimension === dimension).map((unit) => unit.symbol);
}

/**
 * `value` in `from`, expressed in `to` (same dimension). A difference (2 °C warmer) converts
 * by scale only: 2 °C of difference is 3.6 °F of difference, not 35.6 °F.
 */
export function convert(value: number, from: ReadingUnit, to: ReadingUnit, difference: boolean): number {
  if (from === to) return value;
  if (difference) return (value * from.scale) / to.scale;
  return (value * from.scale + from.offset - to.offset) / to.scale;
}
