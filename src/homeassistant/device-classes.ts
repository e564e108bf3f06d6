/**
 * What Home Assistant accepts in an MQTT discovery config for a numeric `sensor` or a `binary_sensor`.
 *
 * Since Home Assistant 2025.7 the MQTT integration rejects a sensor discovery config whose
 * unit_of_measurement does not fit its device_class, so the entity never appears and the only trace is a
 * line in Home Assistant's log. Checking before publishing turns that into a message the user can act on.
 *
 * Transcribed, with every unit enum resolved to its literal string, from Home Assistant 2026.5.0.dev0:
 * - homeassistant/components/sensor/const.py (SensorDeviceClass, SensorStateClass, DEVICE_CLASS_UNITS,
 *   DEVICE_CLASS_STATE_CLASSES, STATE_CLASS_UNITS, AMBIGUOUS_UNITS) at commit
 *   856483dd5e15cc0af85557618e35b34442b2d781, and homeassistant/const.py (the UnitOf… enums and
 *   CONCENTRATION_… constants) at commit 13b6722fcad348f5f2b85258f991aa380a854372; both read from the
 *   GitHub fork TheJulianJES/core, because the stored copy of home-assistant/core itself was older
 *   (3fd1a330…, before absolute_humidity, pm4, reactive_energy and temperature_delta existed).
 * - homeassistant/components/binary_sensor/__init__.py (BinarySensorDeviceClass), read from
 *   NewBabyFace/core at commit 2077c28a46beca80625c3e888ba7423664f2d419, a 2025 copy of home-assistant/core.
 * When Home Assistant grows a device class or a unit, update the tables here from the same files.
 */

import { editDistance } from "../core/formula/suggestions.js";

/**
 * Home Assistant writes the micro prefix as GREEK SMALL LETTER MU (U+03BC). The look-alike MICRO SIGN
 * (U+00B5) that older integrations send is accepted only because HA rewrites it through AMBIGUOUS_UNITS.
 */
const MICRO = "\u03bc";

const PERCENTAGE = "%";
const DEGREE = "°";

const APPARENT_POWER = ["mVA", "VA", "kVA"];
const REACTIVE_POWER = ["mvar", "var", "kvar"];
const ENERGY = [
  "J",
  "kJ",
  "MJ",
  "GJ",
  "mWh",
  "Wh",
  "kWh",
  "MWh",
  "GWh",
  "TWh",
  "cal",
  "kcal",
  "Mcal",
  "Gcal",
];
const REACTIVE_ENERGY = ["varh", "kvarh"];
const ENERGY_DISTANCE = ["kWh/100km", "Wh/km", "mi/kWh", "km/kWh"];
const ELECTRIC_CURRENT = [`${MICRO}A`, "mA", "A"];
const ELECTRIC_POTENTIAL = [`${MICRO}V`, "mV", "V", "kV", "MV"];
const TEMPERATURE = ["°C", "°F", "K"];
const LENGTH = ["mm", "cm", "m", "km", "in", "ft", "yd", "mi", "nmi"];
const FREQUENCY = ["mHz", "Hz", "kHz", "MHz", "GHz"];
const PRESSURE = ["mPa", "Pa", "hPa", "kPa", "bar", "cbar", "mbar", "mmHg", "inHg", "inH₂O", "psi"];
const SOUND_PRESSURE = ["dB", "dBA"];
const VOLUME = ["ft³", "CCF", "MCF", "m³", "L", "mL", "gal", "fl. oz."];
const VOLUME_FLOW_RATE = [
  "m³/h",
  "m³/min",
  "m³/s",
  "ft³/min",
  "L/h",
  "L/min",
  "L/s",
  "gal/h",
  "gal/min",
  "gal/d",
  "mL/s",
];
const AREA = ["m²", "cm²", "km²", "mm²", "in²", "ft²", "yd²", "mi²", "ac", "ha"];
const MASS = ["g", "kg", "mg", `${MICRO}g`, "oz", "lb", "st"];
const CONDUCTIVITY = ["S/cm", `${MICRO}S/cm`, "mS/cm"];
const IRRADIANCE = ["W/m²", "BTU/(h\u22c5ft²)"];
const VOLUMETRIC_FLUX = ["in/d", "in/h", "mm/d", "mm/h"];
const PRECIPITATION_DEPTH = ["in", "mm", "cm"];
const BLOOD_GLUCOSE_CONCENTRATION = ["mg/dL", "mmol/L"];
const SPEED = ["Beaufort", "ft/s", "in/s", "m/min", "m/s", "km/h", "kn", "mph", "mm/s"];
const INFORMATION = [
  "bit",
  "kbit",
  "Mbit",
  "Gbit",
  "B",
  "kB",
  "MB",
  "GB",
  "TB",
  "PB",
  "EB",
  "ZB",
  "YB",
  "KiB",
  "MiB",
  "GiB",
  "TiB",
  "PiB",
  "EiB",
  "ZiB",
  "YiB",
];
const DATA_RATE = [
  "bit/s",
  "kbit/s",
  "Mbit/s",
  "Gbit/s",
  "B/s",
  "kB/s",
  "MB/s",
  "GB/s",
  "KiB/s",
  "MiB/s",
  "GiB/s",
];

const GRAMS_PER_CUBIC_METER = "g/m³";
const MILLIGRAMS_PER_CUBIC_METER = "mg/m³";
const MICROGRAMS_PER_CUBIC_METER = `${MICRO}g/m³`;
const NANOGRAMS_PER_CUBIC_METER = "ng/m³";
const PARTS_PER_MILLION = "ppm";
const PARTS_PER_BILLION = "ppb";
const PARTS_PER_TRILLION = "ppt";
const PARTICULATE_MATTER = [MICROGRAMS_PER_CUBIC_METER, NANOGRAMS_PER_CUBIC_METER];

function units(...allowed: readonly (string | null)[]): ReadonlySet<string | null> {
  return new Set(allowed);
}

/**
 * Units each numeric sensor device class allows, as in HA's DEVICE_CLASS_UNITS; `null` means the class
 * may (aqi, ph: must) have no unit. `monetary` is missing on purpose, as it is in HA: it takes any
 * currency code and HA does not check it (see ANY_UNIT_SENSOR_DEVICE_CLASSES).
 */
export const SENSOR_DEVICE_CLASS_UNITS: Readonly<Record<string, ReadonlySet<string | null>>> = Object.freeze({
  absolute_humidity: units(GRAMS_PER_CUBIC_METER, MILLIGRAMS_PER_CUBIC_METER),
  apparent_power: units(...APPARENT_POWER),
  aqi: units(null),
  area: units(...AREA),
  atmospheric_pressure: units(...PRESSURE),
  battery: units(PERCENTAGE),
  blood_glucose_concentration: units(...BLOOD_GLUCOSE_CONCENTRATION),
  carbon_monoxide: units(
    PARTS_PER_TRILLION,
    PARTS_PER_BILLION,
    PARTS_PER_MILLION,
    MILLIGRAMS_PER_CUBIC_METER,
    MICROGRAMS_PER_CUBIC_METER,
    NANOGRAMS_PER_CUBIC_METER,
  ),
  carbon_dioxide: units(PARTS_PER_MILLION),
  conductivity: units(...CONDUCTIVITY),
  current: units(...ELECTRIC_CURRENT),
  data_rate: units(...DATA_RATE),
  data_size: units(...INFORMATION),
  distance: units(...LENGTH),
  duration: units("d", "h", "min", "s", "ms", `${MICRO}s`),
  energy: units(...ENERGY),
  energy_distance: units(...ENERGY_DISTANCE),
  energy_storage: units(...ENERGY),
  frequency: units(...FREQUENCY),
  gas: units("CCF", "ft³", "m³", "L", "MCF"),
  humidity: units(PERCENTAGE),
  illuminance: units("lx"),
  irradiance: units(...IRRADIANCE),
  moisture: units(PERCENTAGE),
  nitrogen_dioxide: units(
    PARTS_PER_TRILLION,
    PARTS_PER_BILLION,
    PARTS_PER_MILLION,
    MICROGRAMS_PER_CUBIC_METER,
    NANOGRAMS_PER_CUBIC_METER,
  ),
  nitrogen_monoxide: units(
    PARTS_PER_TRILLION,
    PARTS_PER_BILLION,
    MICROGRAMS_PER_CUBIC_METER,
    NANOGRAMS_PER_CUBIC_METER,
  ),
  nitrous_oxide: units(MICROGRAMS_PER_CUBIC_METER),
  ozone: units(
    PARTS_PER_TRILLION,
    PARTS_PER_BILLION,
    PARTS_PER_MILLION,
    MICROGRAMS_PER_CUBIC_METER,
    NANOGRAMS_PER_CUBIC_METER,
  ),
  ph: units(null),
  pm1: units(...PARTICULATE_MATTER),
  pm10: units(...PARTICULATE_MATTER),
  pm25: units(...PARTICULATE_MATTER),
  pm4: units(...PARTICULATE_MATTER),
  power_factor: units(PERCENTAGE, null),
  // UnitOfPower also has BTU/h, but HA leaves it out of the power device class.
  power: units("mW", "W", "kW", "MW", "GW", "TW"),
  precipitation: units(...PRECIPITATION_DEPTH),
  precipitation_intensity: units(...VOLUMETRIC_FLUX),
  pressure: units(...PRESSURE),
  reactive_energy: units(...REACTIVE_ENERGY),
  reactive_power: units(...REACTIVE_POWER),
  signal_strength: units("dB", "dBm"),
  sound_pressure: units(...SOUND_PRESSURE),
  speed: units(...SPEED, ...VOLUMETRIC_FLUX),
  sulphur_dioxide: units(
    PARTS_PER_TRILLION,
    PARTS_PER_BILLION,
    MICROGRAMS_PER_CUBIC_METER,
    NANOGRAMS_PER_CUBIC_METER,
  ),
  temperature: units(...TEMPERATURE),
  temperature_delta: units(...TEMPERATURE),
  volatile_organic_compounds: units(
    MICROGRAMS_PER_CUBIC_METER,
    MILLIGRAMS_PER_CUBIC_METER,
    NANOGRAMS_PER_CUBIC_METER,
  ),
  volatile_organic_compounds_parts: units(PARTS_PER_TRILLION, PARTS_PER_BILLION, PARTS_PER_MILLION),
  voltage: units(...ELECTRIC_POTENTIAL),
  volume: units(...VOLUME),
  volume_flow_rate: units(...VOLUME_FLOW_RATE),
  volume_storage: units(...VOLUME),
  water: units("CCF", "ft³", "m³", "gal", "L", "MCF"),
  weight: units(...MASS),
  wind_direction: units(DEGREE),
  wind_speed: units(...SPEED),
});

/** Numeric sensor device classes whose unit HA does not check. */
export const ANY_UNIT_SENSOR_DEVICE_CLASSES: ReadonlySet<string> = new Set(["monetary"]);

/** Sensor device classes whose state is a text, a date or a time rather than a number. */
export const NON_NUMERIC_SENSOR_DEVICE_CLASSES: ReadonlySet<string> = new Set(["date", "enum", "timestamp"]);

/** Every sensor device class HA knows, numeric or not. */
export const SENSOR_DEVICE_CLASSES: ReadonlySet<string> = new Set([
  ...Object.keys(SENSOR_DEVICE_CLASS_UNITS),
  ...ANY_UNIT_SENSOR_DEVICE_CLASSES,
  ...NON_NUMERIC_SENSOR_DEVICE_CLASSES,
]);

export const STATE_CLASSES = ["measurement", "measurement_angle", "total", "total_increasing"] as const;
export type StateClass = (typeof STATE_CLASSES)[number];

const ANY_STATE_CLASS: ReadonlySet<string> = new Set(STATE_CLASSES);
const MEASUREMENT: ReadonlySet<string> = new Set(["measurement"]);
const TOTALS: ReadonlySet<string> = new Set(["total", "total_increasing"]);
const NO_STATE_CLASS: ReadonlySet<string> = new Set();

/**
 * State classes each sensor device class allows, as in HA's DEVICE_CLASS_STATE_CLASSES. HA's MQTT
 * integration does not reject a mismatch, but the sensor then logs a warning and its long-term
 * statistics are wrong or missing.
 */
export const SENSOR_DEVICE_CLASS_STATE_CLASSES: Readonly<Record<string, ReadonlySet<string>>> = Object.freeze(
  {
    absolute_humidity: MEASUREMENT,
    apparent_power: MEASUREMENT,
    aqi: MEASUREMENT,
    area: ANY_STATE_CLASS,
    atmospheric_pressure: MEASUREMENT,
    battery: MEASUREMENT,
    blood_glucose_concentration: MEASUREMENT,
    carbon_monoxide: MEASUREMENT,
    carbon_dioxide: MEASUREMENT,
    conductivity: MEASUREMENT,
    current: MEASUREMENT,
    data_rate: MEASUREMENT,
    data_size: ANY_STATE_CLASS,
    date: NO_STATE_CLASS,
    distance: ANY_STATE_CLASS,
    duration: ANY_STATE_CLASS,
    energy: TOTALS,
    energy_distance: MEASUREMENT,
    energy_storage: MEASUREMENT,
    enum: NO_STATE_CLASS,
    frequency: MEASUREMENT,
    gas: TOTALS,
    humidity: MEASUREMENT,
    illuminance: MEASUREMENT,
    irradiance: MEASUREMENT,
    moisture: MEASUREMENT,
    monetary: new Set(["total"]),
    nitrogen_dioxide: MEASUREMENT,
    nitrogen_monoxide: MEASUREMENT,
    nitrous_oxide: MEASUREMENT,
    ozone: MEASUREMENT,
    ph: MEASUREMENT,
    pm1: MEASUREMENT,
    pm10: MEASUREMENT,
    pm25: MEASUREMENT,
    pm4: MEASUREMENT,
    power_factor: MEASUREMENT,
    power: MEASUREMENT,
    precipitation: ANY_STATE_CLASS,
    precipitation_intensity: MEASUREMENT,
    pressure: MEASUREMENT,
    reactive_energy: TOTALS,
    reactive_power: MEASUREMENT,
    signal_strength: MEASUREMENT,
    sound_pressure: MEASUREMENT,
    speed: MEASUREMENT,
    sulphur_dioxide: MEASUREMENT,
    temperature: MEASUREMENT,
    temperature_delta: MEASUREMENT,
    timestamp: NO_STATE_CLASS,
    volatile_organic_compounds: MEASUREMENT,
    volatile_organic_compounds_parts: MEASUREMENT,
    voltage: MEASUREMENT,
    volume: TOTALS,
    volume_storage: MEASUREMENT,
    volume_flow_rate: MEASUREMENT,
    water: TOTALS,
    weight: new Set(["measurement", "total", "total_increasing"]),
    wind_direction: new Set(["measurement_angle"]),
    wind_speed: MEASUREMENT,
  },
);

/** Units a state class demands whatever the device class, as in HA's STATE_CLASS_UNITS; HA rejects others. */
export const STATE_CLASS_UNITS: Readonly<Record<string, ReadonlySet<string | null>>> = Object.freeze({
  measurement_angle: units(DEGREE),
});

/**
 * Spellings HA's MQTT integration rewrites to its own before checking the unit (HA's AMBIGUOUS_UNITS).
 * Publishing the rewritten form is safer: HA releases from before a spelling was added here reject it.
 */
export const AMBIGUOUS_UNITS: Readonly<Record<string, string>> = Object.freeze({
  "\u00b5Sv/h": `${MICRO}Sv/h`,
  "\u00b5S/cm": `${MICRO}S/cm`,
  "\u00b5V": `${MICRO}V`,
  "\u00b5g/ft³": `${MICRO}g/ft³`,
  "\u00b5g/m³": MICROGRAMS_PER_CUBIC_METER,
  "\u00b5mol/s\u22c5m²": `${MICRO}mol/s\u22c5m²`,
  "\u00b5g": `${MICRO}g`,
  "\u00b5s": `${MICRO}s`,
  mVAr: "mvar",
  VAr: "var",
  kVAr: "kvar",
  VArh: "varh",
  kVArh: "kvarh",
});

/** The 28 binary_sensor device classes of HA's BinarySensorDeviceClass. */
export const BINARY_SENSOR_DEVICE_CLASSES: ReadonlySet<string> = new Set([
  "battery",
  "battery_charging",
  "carbon_monoxide",
  "cold",
  "connectivity",
  "door",
  "garage_door",
  "gas",
  "heat",
  "light",
  "lock",
  "moisture",
  "motion",
  "moving",
  "occupancy",
  "opening",
  "plug",
  "power",
  "presence",
  "problem",
  "running",
  "safety",
  "smoke",
  "sound",
  "tamper",
  "update",
  "vibration",
  "window",
]);

/**
 * Every device class the options take, sensor and binary_sensor ones together, sorted: the
 * Configuration tab's drop-down (config.yaml's `list(…)`) and the options schema's check. Not
 * the classes of text, date and time states: the add-on's values are numbers or on/off.
 */
export const DEVICE_CLASS_NAMES: readonly string[] = Object.freeze(
  [...new Set([...SENSOR_DEVICE_CLASSES, ...BINARY_SENSOR_DEVICE_CLASSES])]
    .filter((name) => !NON_NUMERIC_SENSOR_DEVICE_CLASSES.has(name))
    .sort(),
);

/** Why `deviceClass` is none of DEVICE_CLASS_NAMES (exactly as written), with the nearest one. */
export function deviceClassNameProblem(deviceClass: string): string {
  const lower = deviceClass.trim().toLowerCase();
  if (NON_NUMERIC_SENSOR_DEVICE_CLASSES.has(lower))
    return `device_class ${lower} is for a text, date or time state; the add-on's values are numbers or on/off`;
  const suggestion = DEVICE_CLASS_NAMES.includes(lower) ? lower : closest(lower, DEVICE_CLASS_NAMES);
  return `unknown device_class ${JSON.stringify(deviceClass)}${didYouMean(suggestion)} (see Home Assistant's sensor and binary sensor device classes)`;
}

// The tables are keyed by user input: a plain index would find "constructor" or "toString" on the prototype.
function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * The unit as HA stores it: legacy spellings rewritten, and a blank unit counted as none, which is what HA's
 * MQTT integration does with `unit_of_measurement: ""`.
 */
export function canonicalUnit(unit: string | undefined): string | undefined {
  if (unit === undefined || unit.trim() === "") return undefined;
  return lookup(AMBIGUOUS_UNITS, unit) ?? unit;
}

function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function orList(words: readonly string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} or ${words[words.length - 1] ?? ""}`;
}

function describeUnits(allowed: ReadonlySet<string | null>): string {
  const named = [...allowed].filter((unit): unit is string => unit !== null);
  return allowed.has(null) ? `${orList(named)} or no unit` : orList(named);
}

// Near misses people actually type: wrong case ("kwh", "l/min") and a missing degree sign ("C", "degC").
function suggestUnit(unit: string, allowed: ReadonlySet<string | null>): string | undefined {
  const named = [...allowed].filter((candidate): candidate is string => candidate !== null);
  const bare = unit.replace(/^deg(?:rees?)?\s*/i, "");
  const guesses = [unit, `°${bare}`];
  for (const guess of guesses) {
    const match = named.filter((candidate) => candidate.toLowerCase() === guess.toLowerCase());
    if (match.length === 1) return match[0];
  }
  return undefined;
}

function didYouMean(suggestion: string | undefined): string {
  return suggestion === undefined ? "" : `; did you mean "${suggestion}"?`;
}

/**
 * Why HA would turn down a numeric sensor with this device_class and unit_of_measurement, or undefined if it
 * would take it. HA lowercases the device class, so "Temperature" passes; units are compared exactly.
 * A missing unit where the class needs one passes HA's MQTT check but leaves the sensor without unit
 * conversion or statistics and logs a warning, so it is reported here too.
 */
export function sensorDeviceClassProblem(deviceClass: string, unit: string | undefined): string | undefined {
  const key = deviceClass.toLowerCase();
  if (!SENSOR_DEVICE_CLASSES.has(key)) {
    if (BINARY_SENSOR_DEVICE_CLASSES.has(key)) {
      return `"${deviceClass}" is a binary_sensor device_class, not a sensor one`;
    }
    const suggestion = closest(key, SENSOR_DEVICE_CLASSES);
    return `unknown sensor device_class "${deviceClass}"${didYouMean(suggestion)} (see Home Assistant's sensor device classes)`;
  }
  if (NON_NUMERIC_SENSOR_DEVICE_CLASSES.has(key)) {
    return `device_class ${key} is for a text, date or time state, not a number`;
  }
  const allowed = lookup(SENSOR_DEVICE_CLASS_UNITS, key);
  if (allowed === undefined) return undefined;
  const canonical = canonicalUnit(unit);
  if (allowed.has(canonical ?? null)) return undefined;
  if (canonical === undefined) return `device_class ${key} needs a unit: ${describeUnits(allowed)}`;
  if (allowed.size === 1 && allowed.has(null))
    return `device_class ${key} takes no unit, not "${unit ?? ""}"`;
  const suggestion = suggestUnit(canonical, allowed);
  return `device_class ${key} takes unit ${describeUnits(allowed)}, not "${unit ?? ""}"${didYouMean(suggestion)}`;
}

/**
 * Why this state_class does not suit the device_class (undefined for a sensor without one), or undefined if
 * it does. An unknown device_class is left to sensorDeviceClassProblem so it is reported once.
 */
export function stateClassProblem(deviceClass: string | undefined, stateClass: string): string | undefined {
  const state = stateClass.toLowerCase();
  if (!ANY_STATE_CLASS.has(state)) {
    const suggestion = closest(state, STATE_CLASSES);
    return `unknown state_class "${stateClass}"; expected ${orList([...STATE_CLASSES])}${didYouMean(suggestion)}`;
  }
  if (deviceClass === undefined) return undefined;
  const key = deviceClass.toLowerCase();
  if (NON_NUMERIC_SENSOR_DEVICE_CLASSES.has(key)) {
    return `device_class ${key} is not numeric and takes no state_class, not "${stateClass}"`;
  }
  const allowed = lookup(SENSOR_DEVICE_CLASS_STATE_CLASSES, key);
  if (allowed === undefined || allowed.has(state)) return undefined;
  return `device_class ${key} takes state_class ${orList([...allowed])}, not "${stateClass}"`;
}

/** Why HA would reject this unit for the state class (only measurement_angle demands one), or undefined. */
export function stateClassUnitProblem(stateClass: string, unit: string | undefined): string | undefined {
  const state = stateClass.toLowerCase();
  const allowed = lookup(STATE_CLASS_UNITS, state);
  const canonical = canonicalUnit(unit);
  if (allowed === undefined || allowed.has(canonical ?? null)) return undefined;
  if (canonical === undefined) return `state_class ${state} needs unit ${describeUnits(allowed)}`;
  return `state_class ${state} takes unit ${describeUnits(allowed)}, not "${unit ?? ""}"`;
}

/** Why HA would reject this binary_sensor device_class, or undefined if it is one HA knows. */
export function binarySensorDeviceClassProblem(deviceClass: string): string | undefined {
  const key = deviceClass.toLowerCase();
  if (BINARY_SENSOR_DEVICE_CLASSES.has(key)) return undefined;
  if (SENSOR_DEVICE_CLASSES.has(key)) {
    return `"${deviceClass}" is a sensor device_class, not a binary_sensor one`;
  }
  const suggestion = closest(key, BINARY_SENSOR_DEVICE_CLASSES);
  return `unknown binary_sensor device_class "${deviceClass}"${didYouMean(suggestion)} (see Home Assistant's binary sensor device classes)`;
}
