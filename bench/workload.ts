/**
 * The bench's synthetic home: topics in the shapes real firmwares publish (ESPHome and Shelly
 * plain numbers, Tasmota and Zigbee2MQTT JSON), and rules over them as a user would write them
 * in the Configuration tab: wildcard, named-wildcard (fan-out), `#` and literal filters, with
 * and without `value_path`. Pure functions of the counts, so every process builds the same home.
 */

export interface HomeShape {
  /** Distinct topics the sensors publish on. */
  readonly topics: number;
  /** Rules in the options (a few global wildcard rules, then per-room, then per-device ones). */
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

function roomOf(index: number, shape: HomeShape): number {
  return Math.floor(index / KINDS.length) % shape.rooms;
}

/** The topic of sensor number `index`. */
export function topicOf(index: number, shape: HomeShape): string {
  const room = `room${roomOf(index, shape)}`;
  const device = `dev${index}`;
  switch (kindOf(index)) {
    case "esphome":
      return `${TOPIC_ROOT}/esphome/${device}/${room}/temperature`;
    case "tasmota":
      return `${TOPIC_ROOT}/tasmota/${device}/${room}/SENSOR`;
    case "z2m":
      return `${TOPIC_ROOT}/z2m/${room}/${device}`;
    case "shelly":
      return `${TOPIC_ROOT}/shelly/${device}/${room}/power`;
  }
}

/** Payload number `variant` of sensor `index`: half of the sensors send JSON, half plain numbers. */
export function payloadOf(index: number, variant: number): string {
  const wave = ((index * 7 + variant * 3) % 40) / 10;
  switch (kindOf(index)) {
    case "esphome":
      return (19 + wave).toFixed(1);
    case "tasmota":
      return `{"Time":"2025-01-01T12:00:0${variant % 10}","AM2301":{"Temperature":${(19 + wave).toFixed(1)},"Humidity":${40 + (variant % 20)}},"TempUnit":"C"}`;
    case "z2m":
      return `{"battery":${90 + (index % 10)},"contact":${(index + variant) % 9 !== 0},"linkquality":${100 + (variant % 50)},"voltage":3000}`;
    case "shelly":
      return (100 + wave * 25).toFixed(1);
  }
}

export type RuleJson = Record<string, unknown>;

const TEMPERATURE = {
  unit: "°C",
  device_class: "temperature",
  state_class: "measurement",
  precision: 1,
} as const;
const POWER = { unit: "W", device_class: "power", state_class: "measurement" } as const;

/** Rules that span the whole home: wildcards, named wildcards (one entity per room) and `#`. */
function globalRules(): RuleJson[] {
  const root = TOPIC_ROOT;
  return [
    {
      name: "All ESPHome temperatures",
      topic: `${root}/esphome/+/+/temperature`,
      function: "mean",
      ...TEMPERATURE,
    },
    { name: "{room} warmest", topic: `${root}/esphome/+/+room/temperature`, function: "max", ...TEMPERATURE },
    {
      name: "{room} windows",
      topic: `${root}/z2m/+room/+`,
      value_path: "contact",
      function: "any",
      on_value: "false",
      device_class: "window",
    },
    {
      name: "Tasmota temperatures",
      topic: `${root}/tasmota/#`,
      value_path: "*.Temperature",
      function: "median",
      ...TEMPERATURE,
    },
    { name: "{room} power", topic: `${root}/shelly/+/+room/power`, function: "sum", ...POWER },
    { name: "Shelly plugs reporting", topic: `${root}/shelly/#`, function: "count" },
  ];
}

/** Per-room rules with the room written out: literal levels mixed with `+`. */
function roomRules(room: number): RuleJson[] {
  const root = TOPIC_ROOT;
  const at = `room${room}`;
  return [
    {
      name: `Room ${room} temperature`,
      topic: `${root}/esphome/+/${at}/temperature`,
      function: "mean",
      ...TEMPERATURE,
    },
    {
      name: `Room ${room} humidity`,
      topic: `${root}/tasmota/+/${at}/SENSOR`,
      value_path: "AM2301.Humidity",
      function: "mean",
      unit: "%",
      device_class: "humidity",
      state_class: "measurement",
    },
    {
      name: `Room ${room} all windows closed`,
      topic: `${root}/z2m/${at}/+`,
      value_path: "contact",
      function: "all",
      on_value: "true",
    },
    { name: `Room ${room} peak power`, topic: `${root}/shelly/+/${at}/power`, function: "max", ...POWER },
  ];
}

/** The rules of the bench, `shape.rules` of them: global first, then per room, then one per device. */
export function rulesOf(shape: HomeShape): RuleJson[] {
  const rules = globalRules().slice(0, shape.rules);
  for (let room = 0; room < shape.rooms && rules.length < shape.rules; room += 1) {
    for (const rule of roomRules(room)) if (rules.length < shape.rules) rules.push(rule);
  }
  // Beyond that, single-device rules on the literal topic (the common "just this one" rule).
  for (let index = 0; rules.length < shape.rules; index += 1) {
    const device = index % Math.max(1, shape.topics);
    rules.push({
      id: `device_${index}`,
      name: `Device ${index} latest`,
      topic: topicOf(device, shape),
      ...(kindOf(device) === "tasmota" ? { value_path: "AM2301.Temperature" } : {}),
      ...(kindOf(device) === "z2m" ? { value_path: "battery" } : {}),
      function: "last",
    });
  }
  return rules;
}

/** Options as the Supervisor would write them; the source limit is raised to hold every topic. */
export function optionsOf(shape: HomeShape): Record<string, unknown> {
  return {
    first_read_delay: 3_600,
    max_sources: Math.min(100_000, Math.max(1_000, shape.topics)),
    rules: rulesOf(shape),
  };
}
