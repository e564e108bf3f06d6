/**
 * The bench's synthetic home: topics in the layouts real firmwares use (ESPHome and Shelly plain
 * numbers, Tasmota and Zigbee2MQTT JSON), the availability topics their devices speak on, and
 * rules over them as a user would write them in the Configuration tab. Pure functions of the
 * counts, so every process builds the same home.
 *
 * The rules come in two sets over the same topics: the plain set uses what 0.1.0 offered
 * (wildcard, named-wildcard, `#` and literal filters, with and without `value_path`), and the
 * featured set adds the features of 0.2.0 to it in the proportions of `FEATURE_MIX`. A feature is a
 * `RuleFeature`: it changes the rules it fits, or adds rules of its own (as formula rules, which
 * refer to other rules, would). Adding one is a new entry in `FEATURES` and in `FEATURE_MIX`.
 */

import { ruleKey } from "../src/core/entity-naming.js";

export interface HomeShape {
  /** Distinct topics the sensors publish readings on. */
  readonly topics: number;
  /** Rules of the plain set (a few global wildcard rules, then per-room, then per-device ones). */
  readonly rules: number;
  /** Rooms the devices are spread over; named-wildcard rules fan out into one entity per room. */
  readonly rooms: number;
}

/** Every bench topic is under this root; the rules subscribe below it. */
export const TOPIC_ROOT = "bench";

type Kind = "esphome" | "tasmota" | "z2m" | "shelly";
const KINDS: readonly Kind[] = ["esphome", "tasmota", "z2m", "shelly"];

function kindOf(index: number): Kind {
  return KINDS[index % KINDS.length] ?? "esphome";
}

function roomOf(index: number, shape: Pick<HomeShape, "rooms">): number {
  return Math.floor(index / KINDS.length) % shape.rooms;
}

/** The topic of sensor number `index`, in its firmware's layout. */
export function topicOf(index: number, shape: Pick<HomeShape, "rooms">): string {
  const room = `room${roomOf(index, shape)}`;
  const device = `dev${index}`;
  switch (kindOf(index)) {
    case "esphome":
      return `${TOPIC_ROOT}/esphome/${room}/${device}/sensor/temperature/state`;
    case "tasmota":
      return `${TOPIC_ROOT}/tasmota/${room}/tele/${device}/SENSOR`;
    case "z2m":
      return `${TOPIC_ROOT}/z2m/${room}/${device}`;
    case "shelly":
      return `${TOPIC_ROOT}/shelly/${room}/${device}/relay/0/power`;
  }
}

/**
 * Where sensor `index`'s device says whether it is online, by its firmware's convention (the
 * add-on finds these by itself); Shelly Gen1 plugs here have none under the bench's root.
 */
export function availabilityTopicOf(index: number, shape: Pick<HomeShape, "rooms">): string | undefined {
  const room = `room${roomOf(index, shape)}`;
  const device = `dev${index}`;
  switch (kindOf(index)) {
    case "esphome":
      return `${TOPIC_ROOT}/esphome/${room}/${device}/status`;
    case "tasmota":
      return `${TOPIC_ROOT}/tasmota/${room}/tele/${device}/LWT`;
    case "z2m":
      return `${TOPIC_ROOT}/z2m/${room}/${device}/availability`;
    case "shelly":
      return undefined;
  }
}

/** What sensor `index`'s device says on its availability topic, in its firmware's words. */
export function availabilityPayloadOf(index: number, online: boolean): string {
  switch (kindOf(index)) {
    case "tasmota":
      return online ? "Online" : "Offline";
    case "z2m":
      return `{"state":"${online ? "online" : "offline"}"}`;
    default:
      return online ? "online" : "offline";
  }
}

/** One Tasmota in eight reports in °F (`TempUnit`), one in four runs on an ESP32 that adds its chip's temperature. */
function reportsFahrenheit(index: number): boolean {
  return kindOf(index) === "tasmota" && Math.floor(index / KINDS.length) % 8 === 3;
}
function reportsChip(index: number): boolean {
  return kindOf(index) === "tasmota" && Math.floor(index / KINDS.length) % 4 === 1;
}

/** Payload number `variant` of sensor `index`: half of the sensors send JSON, half plain numbers. */
export function payloadOf(index: number, variant: number): string {
  const wave = ((index * 7 + variant * 3) % 40) / 10;
  switch (kindOf(index)) {
    case "esphome":
      return (19 + wave).toFixed(1);
    case "tasmota": {
      const celsius = 19 + wave;
      const temperature = reportsFahrenheit(index) ? (celsius * 9) / 5 + 32 : celsius;
      const chip = reportsChip(index) ? `,"ESP32":{"Temperature":${(45 + wave).toFixed(1)}}` : "";
      return `{"Time":"2025-01-01T12:00:0${variant % 10}","AM2301":{"Temperature":${temperature.toFixed(1)},"Humidity":${40 + (variant % 20)}}${chip},"TempUnit":"${reportsFahrenheit(index) ? "F" : "C"}"}`;
    }
    case "z2m":
      return `{"battery":${90 + (index % 10)},"contact":${(index + variant) % 9 !== 0},"linkquality":${100 + (variant % 50)},"voltage":3000}`;
    case "shelly":
      return (100 + wave * 25).toFixed(1);
  }
}

/** Zigbee2MQTT's bridge speaks under the same prefix as its devices; rules leave it out (`!…/bridge/#`). */
export const BRIDGE_TOPIC = `${TOPIC_ROOT}/z2m/bridge/state`;

/** One message in this many is a device saying it is online (one in ten of those: offline), not a reading. */
export const AVAILABILITY_EVERY = 37;
/** One message in this many is the Zigbee2MQTT bridge's state. */
const BRIDGE_EVERY = 4_999;

export interface BenchMessage {
  readonly topic: string;
  readonly payload: string;
}

/**
 * Message number `k` of the bench's stream. It begins as a home's broker does for a new subscriber:
 * every device's availability (retained, as firmwares publish it), one message per sensor (a Shelly
 * without one sends its reading). Then readings, sensor after sensor, the values varying with each
 * pass over the sensors; now and then a device's availability instead (one in ten: offline), and
 * rarely the Zigbee2MQTT bridge. `sensorOf` picks the sensor (a soak shifts the sensors over time).
 */
export function messageOf(
  k: number,
  shape: Pick<HomeShape, "topics" | "rooms">,
  sensorOf: (k: number) => number = (at) => at % shape.topics,
): BenchMessage {
  const index = sensorOf(k);
  if (k < shape.topics) {
    const topic = availabilityTopicOf(index, shape);
    return topic === undefined
      ? { topic: topicOf(index, shape), payload: payloadOf(index, 0) }
      : { topic, payload: availabilityPayloadOf(index, true) };
  }
  const pass = Math.floor(k / shape.topics);
  if (k % BRIDGE_EVERY === BRIDGE_EVERY - 1) return { topic: BRIDGE_TOPIC, payload: "online" };
  if (k % AVAILABILITY_EVERY === AVAILABILITY_EVERY - 1) {
    const topic = availabilityTopicOf(index, shape);
    if (topic !== undefined) return { topic, payload: availabilityPayloadOf(index, pass % 10 !== 3) };
  }
  return { topic: topicOf(index, shape), payload: payloadOf(index, pass % 8) };
}

/**
 * Messages that leave a store holding `sources` topics: a reading of each sensor, and the
 * availability of one device in sixteen (a store keeps at most 10,000 availability topics).
 */
export function holdingMessages(sources: number, shape: Pick<HomeShape, "rooms">): BenchMessage[] {
  const messages: BenchMessage[] = [];
  for (let index = 0; messages.length < sources; index += 1) {
    messages.push({ topic: topicOf(index, shape), payload: payloadOf(index, 0) });
    const availability = index % 16 === 0 ? availabilityTopicOf(index, shape) : undefined;
    if (availability !== undefined && messages.length < sources)
      messages.push({ topic: availability, payload: availabilityPayloadOf(index, true) });
  }
  return messages;
}

/* ----------------------------------------------------------------- rules */

export type RuleJson = Record<string, unknown>;

/** A rule of the plain set, and what the features need to know about it. */
export interface BenchRule {
  readonly json: RuleJson;
  readonly kind: Kind;
  readonly scope: "global" | "room" | "device";
  /** What it reads, so that a feature knows whether it fits. */
  readonly reads: "temperature" | "humidity" | "contact" | "power" | "battery" | "count";
}

const TEMPERATURE = {
  unit: "°C",
  device_class: "temperature",
  state_class: "measurement",
  precision: 1,
} as const;
const POWER = { unit: "W", device_class: "power", state_class: "measurement" } as const;

/** Rules that span the whole home: wildcards, named wildcards (one entity per room) and `#`. */
function globalRules(): BenchRule[] {
  const root = TOPIC_ROOT;
  return [
    {
      kind: "esphome",
      scope: "global",
      reads: "temperature",
      json: {
        name: "All ESPHome temperatures",
        topic: `${root}/esphome/+/+/sensor/temperature/state`,
        function: "mean",
        ...TEMPERATURE,
      },
    },
    {
      kind: "esphome",
      scope: "global",
      reads: "temperature",
      json: {
        name: "{room} warmest",
        topic: `${root}/esphome/+room/+/sensor/temperature/state`,
        function: "max",
        ...TEMPERATURE,
      },
    },
    {
      kind: "z2m",
      scope: "global",
      reads: "contact",
      json: {
        name: "{room} windows",
        topic: `${root}/z2m/+room/+`,
        value_path: "contact",
        function: "any",
        on_value: "false",
        device_class: "window",
      },
    },
    {
      kind: "tasmota",
      scope: "global",
      reads: "temperature",
      json: {
        name: "Tasmota temperatures",
        topic: `${root}/tasmota/#`,
        value_path: "*.Temperature",
        function: "median",
        ...TEMPERATURE,
      },
    },
    {
      kind: "shelly",
      scope: "global",
      reads: "power",
      json: {
        name: "{room} power",
        topic: `${root}/shelly/+room/+/relay/0/power`,
        function: "sum",
        ...POWER,
      },
    },
    {
      kind: "shelly",
      scope: "global",
      reads: "count",
      json: { name: "Shelly plugs reporting", topic: `${root}/shelly/#`, function: "count" },
    },
  ];
}

/** Per-room rules with the room written out: literal levels mixed with `+`. */
function roomRules(room: number): BenchRule[] {
  const root = TOPIC_ROOT;
  const at = `room${room}`;
  return [
    {
      kind: "esphome",
      scope: "room",
      reads: "temperature",
      json: {
        name: `Room ${room} temperature`,
        topic: `${root}/esphome/${at}/+/sensor/temperature/state`,
        function: "mean",
        ...TEMPERATURE,
      },
    },
    {
      kind: "tasmota",
      scope: "room",
      reads: "humidity",
      json: {
        name: `Room ${room} humidity`,
        topic: `${root}/tasmota/${at}/tele/+/SENSOR`,
        value_path: "AM2301.Humidity",
        function: "mean",
        unit: "%",
        device_class: "humidity",
        state_class: "measurement",
      },
    },
    {
      kind: "z2m",
      scope: "room",
      reads: "contact",
      json: {
        name: `Room ${room} all windows closed`,
        topic: `${root}/z2m/${at}/+`,
        value_path: "contact",
        function: "all",
        on_value: "true",
      },
    },
    {
      kind: "shelly",
      scope: "room",
      reads: "power",
      json: {
        name: `Room ${room} peak power`,
        topic: `${root}/shelly/${at}/+/relay/0/power`,
        function: "max",
        ...POWER,
      },
    },
  ];
}

/** The plain set, `shape.rules` of them: global first, then per room, then one per device. */
export function plainRulesOf(shape: HomeShape): BenchRule[] {
  const rules = globalRules().slice(0, shape.rules);
  for (let room = 0; room < shape.rooms && rules.length < shape.rules; room += 1) {
    for (const rule of roomRules(room)) if (rules.length < shape.rules) rules.push(rule);
  }
  // Beyond that, single-device rules on the literal topic (the common "just this one" rule).
  for (let index = 0; rules.length < shape.rules; index += 1) {
    const device = index % Math.max(1, shape.topics);
    const kind = kindOf(device);
    rules.push({
      kind,
      scope: "device",
      reads: kind === "z2m" ? "battery" : kind === "shelly" ? "power" : "temperature",
      json: {
        id: `device_${index}`,
        name: `Device ${index} latest`,
        topic: topicOf(device, shape),
        ...(kind === "tasmota" ? { value_path: "AM2301.Temperature" } : {}),
        ...(kind === "z2m" ? { value_path: "battery" } : {}),
        function: "last",
      },
    });
  }
  return rules;
}

/**
 * A feature of the featured set. `apply` gets each rule (a copy it may change) and returns whether
 * it fitted, so that `share` picks a share of the fitting rules; `addRules` adds rules of its own.
 */
export interface RuleFeature {
  /** What the report says it adds. */
  readonly description: string;
  readonly apply?: (rule: BenchRule, json: RuleJson, take: boolean) => boolean;
  readonly addRules?: (rules: readonly RuleJson[], share: number, shape: HomeShape) => RuleJson[];
}

const ESP32_CHIP = "!ESP32.Temperature";

/** The features of 0.2.0, each applied to the rules it fits. */
export const FEATURES: Readonly<Record<string, RuleFeature>> = {
  alternatives: {
    description: "value paths with alternatives (`contact, state`)",
    apply: (rule, json, take) => {
      const alternatives: Partial<Record<BenchRule["reads"], string | undefined>> = {
        temperature: rule.kind === "tasmota" ? "*.Temperature, temperature" : undefined,
        humidity: "AM2301.Humidity, *.Humidity, humidity",
        contact: "contact, state",
        battery: "battery, battery_level",
      };
      const path = alternatives[rule.reads];
      if (path === undefined) return false;
      if (take) json["value_path"] = path;
      return true;
    },
  },
  exclusions: {
    description: "exclusions: of topics (`!…/bridge/#`) and of readings (`!ESP32.Temperature`)",
    apply: (rule, json, take) => {
      if (rule.kind === "z2m" && rule.scope !== "device") {
        if (take) json["topic"] = `${String(json["topic"])}, !${TOPIC_ROOT}/z2m/bridge/#`;
        return true;
      }
      if (rule.kind === "tasmota" && rule.reads === "temperature" && typeof json["value_path"] === "string") {
        if (take) json["value_path"] = `${json["value_path"]}, ${ESP32_CHIP}`;
        return true;
      }
      return false;
    },
  },
  availability: {
    description: "device availability from the firmwares' conventions (`availability: auto`, the default)",
    apply: (_rule, json, take) => {
      if (!take) json["availability"] = "off";
      return true;
    },
  },
  units: {
    // Both sets convert the °F Tasmotas (TempUnit) into the rules' °C: that needs only `unit`.
    description: "unit conversion of plugs' W into kW (`$ in W`)",
    apply: (rule, json, take) => {
      if (rule.reads !== "power") return false;
      if (take) {
        json["unit"] = "kW";
        json["value_path"] = "$ in W";
      }
      return true;
    },
  },
  ranges: {
    description: "plausible ranges (`min_value`, `max_value`)",
    apply: (rule, json, take) => {
      if (rule.reads !== "temperature") return false;
      if (take) {
        json["min_value"] = -40;
        json["max_value"] = 85;
      }
      return true;
    },
  },
  formulas: {
    description:
      "formulas over other rules: per room, `heating needed` and a difference; per `{room}`, over fanned-out rules",
    addRules: (rules, share) => formulaRulesOver(rules, share),
  },
  change: {
    description:
      "updates on change (`update: change`), published by the real UpdateScheduler and EntityPublisher",
    apply: (_rule, json, take) => {
      json["update"] = take ? "change" : "interval";
      return true;
    },
  },
};

/**
 * Formula rules naming other rules by key (`ruleKey`, the same as the add-on's): for `share` of
 * the rooms with a temperature and a windows rule, whether it needs heating and how far it is from
 * the mean; and one per `{room}` over the fanned-out rules, joined by their named wildcard.
 */
function formulaRulesOver(rules: readonly RuleJson[], share: number): RuleJson[] {
  const keyOf = (name: string) => ruleKey(undefined, name);
  const names = new Set(rules.map((rule) => String(rule["name"])));
  const added: RuleJson[] = [];
  let fitting = 0;
  for (let room = 0; names.has(`Room ${room} temperature`); room += 1) {
    if (!names.has(`Room ${room} all windows closed`)) break;
    fitting += 1;
    if (Math.round(fitting * share) <= added.length / 2) continue;
    const temperature = keyOf(`Room ${room} temperature`);
    added.push(
      {
        name: `Room ${room} heating needed`,
        function: "formula",
        formula: `${temperature} < 19 and ${keyOf(`Room ${room} all windows closed`)}`,
      },
      {
        name: `Room ${room} above the mean`,
        function: "formula",
        formula: `${temperature} - ${keyOf("All ESPHome temperatures")}`,
        unit: "°C",
        state_class: "measurement",
      },
    );
  }
  if (share > 0 && names.has("{room} warmest") && names.has("{room} windows"))
    added.push({
      name: "{room} warm with a window open",
      function: "formula",
      formula: `${keyOf("{room} warmest")} > 25 and ${keyOf("{room} windows")}`,
    });
  return added;
}

/** The share of fitting rules each feature is applied to. Add an entry here to put a new feature on the bench. */
export const FEATURE_MIX: Readonly<Record<string, number>> = {
  alternatives: 1,
  exclusions: 1,
  availability: 1,
  units: 1,
  ranges: 0.5,
  change: 0.5,
  formulas: 0.2,
};

/** How many of the featured set's rules have each feature. */
export type FeatureCounts = Record<string, number>;

/** The plain set with `mix` applied: every feature to the given share of the rules it fits, spread evenly. */
export function featuredRulesOf(
  shape: HomeShape,
  mix: Readonly<Record<string, number>> = FEATURE_MIX,
): { rules: RuleJson[]; counts: FeatureCounts } {
  const plain = plainRulesOf(shape);
  const rules = plain.map((rule) => ({ ...rule.json }));
  const counts: FeatureCounts = {};
  for (const [name, share] of Object.entries(mix)) {
    const feature = FEATURES[name];
    if (feature === undefined)
      throw new Error(`no feature "${name}" (known: ${Object.keys(FEATURES).join(", ")})`);
    let fitting = 0;
    let taken = 0;
    plain.forEach((rule, index) => {
      const json = rules[index];
      if (json === undefined || feature.apply === undefined) return;
      // Bresenham-like: after n fitting rules, round(n × share) of them have the feature.
      const take = Math.round((fitting + 1) * share) > taken;
      if (!feature.apply(rule, json, take)) return;
      fitting += 1;
      if (take) taken += 1;
    });
    const added = feature.addRules?.(rules, share, shape) ?? [];
    rules.push(...added);
    counts[name] = taken + added.length;
  }
  return { rules, counts };
}

/** The plain set as the 0.1.0 add-on would run it: no availability, every rule at its interval. */
export function plainRuleJsonOf(shape: HomeShape): RuleJson[] {
  return plainRulesOf(shape).map((rule) => ({ ...rule.json, availability: "off", update: "interval" }));
}

export type RuleSet = "plain" | "featured";

/** Options as the Supervisor would write them; the source limit is raised to hold every topic. */
export function optionsOf(
  shape: HomeShape,
  set: RuleSet,
  mix: Readonly<Record<string, number>> = FEATURE_MIX,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    first_read_delay: 3_600,
    max_sources: Math.min(100_000, Math.max(1_000, shape.topics)),
    rules: set === "plain" ? plainRuleJsonOf(shape) : featuredRulesOf(shape, mix).rules,
    ...extra,
  };
}
