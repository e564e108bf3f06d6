import { z } from "zod";
import { FUNCTION_NAMES } from "../core/aggregate-functions.js";
import { MAX_RULE_NAME_LENGTH } from "../core/entity-naming.js";
import {
  DEVICE_CLASS_NAMES,
  STATE_CLASSES,
  deviceClassNameProblem,
} from "../homeassistant/device-classes.js";

/**
 * The add-on's options, exactly as the Supervisor writes them to /data/options.json.
 * config.yaml's `schema` mirrors this one field by field (a test holds them together), so
 * bounds here are the bounds of the Configuration tab too.
 */

export const LOG_LEVELS = ["trace", "debug", "info", "warning", "error"] as const;

/** MQTT topic levels that Home Assistant's discovery accepts. */
export const TOPIC_PART = /^[a-zA-Z0-9_-]+$/;
export const RULE_ID = /^[a-z0-9_]+$/;
/** Home Assistant's icons: `mdi:window-open`, a prefix and a name. */
export const ICON = /^[a-z0-9_-]+:[a-z0-9_-]+$/;

/** The functions a rule may name: the aggregate functions, and `formula`, which computes over other rules. */
export const RULE_FUNCTIONS = [...FUNCTION_NAMES, "formula"] as const;

const seconds = (min: number, max: number) => z.int().min(min).max(max);
/** Names end up in topics and ids; a 70,000-character one would make topics MQTT cannot carry. */
const MAX_NAME = MAX_RULE_NAME_LENGTH;

const DEVICE_CLASSES = new Set(DEVICE_CLASS_NAMES);
const filterText = z.string().trim().min(1);

export const ruleOptionsSchema = z.strictObject({
  // First: the Configuration tab shows a rule's first field as the title of its row.
  name: z.string().trim().min(1).max(MAX_NAME),
  /**
   * Filters separated by commas, or a list of them. The Supervisor's schema has no "text or
   * list", so config.yaml says `str` and its form takes the text; a list is for options files
   * written by hand (outside Home Assistant). Required for every function but formula:
   * compile-rules says so, naming the rule.
   */
  topic: z.union([filterText, z.array(filterText).min(1)]).optional(),
  function: z.enum(RULE_FUNCTIONS),
  // Not trimmed: positions in problems are those of the text as written.
  formula: z.string().min(1).optional(),
  id: z.string().max(MAX_NAME).regex(RULE_ID, "use lower-case letters, digits and _ only").optional(),
  value_path: z.string().trim().min(1).optional(),
  on_value: z.string().trim().min(1).optional(),
  unit: z.string().trim().min(1).optional(),
  // Exactly as the drop-down offers them (the Supervisor compares exactly too).
  device_class: z
    .string()
    .refine((value) => DEVICE_CLASSES.has(value), {
      error: (issue) => deviceClassNameProblem(String(issue.input)),
    })
    .optional(),
  state_class: z.enum(STATE_CLASSES).optional(),
  precision: z.int().min(0).max(10).optional(),
  interval: seconds(1, 86_400).optional(),
  max_age: seconds(1, 2_592_000).optional(),
  min_inputs: z.int().min(1).max(100_000).optional(),
  min_value: z.number().optional(),
  max_value: z.number().optional(),
  availability: z.string().trim().min(1).optional(),
  update: z.enum(["change", "interval"]).optional(),
  min_interval: seconds(0, 86_400).optional(),
  delay_on: seconds(0, 86_400).optional(),
  delay_off: seconds(0, 86_400).optional(),
  /** The device the rule's entities belong to, such as a room; `{name}` placeholders for named wildcards. */
  device: z.string().trim().min(1).max(MAX_NAME).optional(),
  icon: z.string().regex(ICON, "write an icon as mdi:name, such as mdi:window-open").optional(),
});

export const mqttOptionsSchema = z.strictObject({
  host: z.string().trim().min(1).optional(),
  port: z.int().min(1).max(65_535).optional(),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  tls: z.boolean().optional(),
});

export const optionsSchema = z.strictObject({
  log_level: z.enum(LOG_LEVELS).default("info"),
  first_read_delay: seconds(0, 3_600).default(10),
  read_interval: seconds(1, 86_400).default(180),
  max_age: seconds(1, 2_592_000).default(900),
  max_sources: z.int().min(1).max(100_000).default(1_000),
  discovery_prefix: z
    .string()
    .max(MAX_NAME)
    .regex(TOPIC_PART, "use letters, digits, _ and - only")
    .default("homeassistant"),
  base_topic: z
    .string()
    .max(MAX_NAME)
    .regex(TOPIC_PART, "use letters, digits, _ and - only")
    .default("mqtt_aggregator"),
  rules: z.array(ruleOptionsSchema).default([]),
  mqtt: mqttOptionsSchema.default({}),
});

export type RuleOptions = z.infer<typeof ruleOptionsSchema>;
export type MqttOptions = z.infer<typeof mqttOptionsSchema>;
export type Options = z.infer<typeof optionsSchema>;
export type LogLevel = (typeof LOG_LEVELS)[number];
