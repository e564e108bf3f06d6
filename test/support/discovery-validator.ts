/**
 * What Home Assistant's MQTT integration checks in a discovery config for a `sensor` or a
 * `binary_sensor`, as far as this add-on's configs go. Unknown keys inside `device`, `origin` or
 * an availability entry make Home Assistant reject the whole config (their schemas allow no extra
 * keys); unknown top-level keys are dropped silently, which hides typos, so they are reported too.
 * Written from homeassistant/components/mqtt (schemas.py, entity.py, discovery.py, sensor.py,
 * binary_sensor.py) and homeassistant/core.py's VALID_ENTITY_ID.
 *
 * Device-based discovery (`<prefix>/device/[<node_id>/]<object_id>/config`, Home Assistant
 * 2024.11 and later) is checked as its documentation says: the device (`dev`) and the origin
 * (`o`) are required at the root and cannot be set per component; the components (`cmps`) are
 * a mapping of component ids to configs, each with its platform (`p`) and, for entities, a
 * `unique_id`; the root may also hold the shared options (availability, `state_topic`,
 * `command_topic`, `qos`, `encoding`), which components inherit unless they set them. Each
 * component is then checked as a single-component config with the device, origin and shared
 * options merged in, as Home Assistant does.
 */

export type DiscoveryComponent = "sensor" | "binary_sensor";

/** `<prefix>/<component>/[<node_id>/]<object_id>/config`, each part `[a-zA-Z0-9_-]`. */
const DISCOVERY_TOPIC = /^([a-zA-Z0-9_-]+)\/(\w+)\/(?:([a-zA-Z0-9_-]+)\/)?([a-zA-Z0-9_-]+)\/config$/;

/** homeassistant/core.py: slugs, no leading or trailing `_`, and no `__` anywhere. */
const VALID_ENTITY_ID = /^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$/;
/** homeassistant/const.py MAX_LENGTH_STATE_ENTITY_ID: longer ids make the entity registry refuse the entity. */
const MAX_ENTITY_ID_LENGTH = 255;

const DEVICE_KEYS = new Set([
  "identifiers",
  "connections",
  "manufacturer",
  "model",
  "model_id",
  "name",
  "sw_version",
  "hw_version",
  "serial_number",
  "suggested_area",
  "via_device",
  "configuration_url",
]);
const ORIGIN_KEYS = new Set(["name", "sw_version", "support_url"]);
const AVAILABILITY_KEYS = new Set(["topic", "payload_available", "payload_not_available", "value_template"]);

/** MQTT_ENTITY_COMMON_SCHEMA, the availability schema and `~`. */
const COMMON_KEYS = [
  "~",
  "availability",
  "availability_mode",
  "availability_template",
  "availability_topic",
  "payload_available",
  "payload_not_available",
  "default_entity_id",
  "device",
  "enabled_by_default",
  "encoding",
  "entity_category",
  "entity_picture",
  "icon",
  "json_attributes_template",
  "json_attributes_topic",
  "name",
  "origin",
  "qos",
  "unique_id",
];
const TOP_LEVEL_KEYS: Record<DiscoveryComponent, ReadonlySet<string>> = {
  sensor: new Set([
    ...COMMON_KEYS,
    "device_class",
    "expire_after",
    "force_update",
    "last_reset_value_template",
    "options",
    "state_class",
    "state_topic",
    "suggested_display_precision",
    "unit_of_measurement",
    "value_template",
  ]),
  binary_sensor: new Set([
    ...COMMON_KEYS,
    "device_class",
    "expire_after",
    "force_update",
    "off_delay",
    "payload_off",
    "payload_on",
    "state_topic",
    "value_template",
  ]),
};

const TEMPERATURE_UNITS = new Set(["°C", "°F", "K"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unknownKeys(record: Record<string, unknown>, allowed: ReadonlySet<string>): string[] {
  return Object.keys(record).filter((key) => !allowed.has(key));
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value !== "";
}

const DEVICE_TOPIC = /^([a-zA-Z0-9_-]+)\/device\/(?:([a-zA-Z0-9_-]+)\/)?([a-zA-Z0-9_-]+)\/config$/;
/** The abbreviations Home Assistant expands at the root of a device config, and the full names. */
const DEVICE_ROOT_KEYS: Readonly<Record<string, string>> = {
  dev: "device",
  device: "device",
  o: "origin",
  origin: "origin",
  cmps: "components",
  components: "components",
};
const SHARED_KEYS = new Set([
  "availability",
  "availability_mode",
  "availability_template",
  "availability_topic",
  "payload_available",
  "payload_not_available",
  "state_topic",
  "command_topic",
  "qos",
  "encoding",
  "~",
]);
const PLATFORM_KEYS = ["p", "platform"];

/**
 * Every reason Home Assistant would refuse (or quietly misread) a device-based config; empty when
 * it is fine. An empty payload (a removal) is fine.
 */
export function deviceDiscoveryProblems(topic: string, payload: string): string[] {
  const match = DEVICE_TOPIC.exec(topic);
  if (match === null)
    return [`topic ${topic} is not <prefix>/device/[<node_id>/]<object_id>/config with [a-zA-Z0-9_-] parts`];
  if (payload === "") return [];
  let config: unknown;
  try {
    config = JSON.parse(payload);
  } catch {
    return [`payload is not JSON: ${payload.slice(0, 80)}`];
  }
  if (!isRecord(config)) return ["payload is not a JSON object"];
  const problems: string[] = [];
  const root: Record<string, unknown> = {};
  const shared: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const full = DEVICE_ROOT_KEYS[key];
    if (full !== undefined) {
      if (full in root) problems.push(`"${key}" and its other spelling are both set`);
      root[full] = value;
    } else if (SHARED_KEYS.has(key)) shared[key] = value;
    else
      problems.push(
        `unknown device config option "${key}" (only device, origin, components and shared options)`,
      );
  }
  if (!isRecord(root["device"])) problems.push("device (dev) is required and must be an object");
  if (!isRecord(root["origin"])) problems.push("origin (o) is required and must be an object");
  else if (!nonEmptyString(root["origin"]["name"])) problems.push("origin.name is required");
  const components = root["components"];
  if (!isRecord(components) || Object.keys(components).length === 0) {
    problems.push("components (cmps) must be a non-empty mapping");
    return problems;
  }
  const [, prefix = "", , objectId = ""] = match;
  for (const [id, component] of Object.entries(components)) {
    if (!isRecord(component)) {
      problems.push(`cmps.${id} must be an object`);
      continue;
    }
    const platformKey = PLATFORM_KEYS.find((key) => key in component);
    const platform = platformKey === undefined ? undefined : component[platformKey];
    if (typeof platform !== "string") {
      problems.push(`cmps.${id}: the platform (p) is required`);
      continue;
    }
    for (const key of ["device", "dev", "origin", "o"]) {
      if (key in component) problems.push(`cmps.${id}: "${key}" cannot be set per component`);
    }
    if (!nonEmptyString(component["unique_id"])) problems.push(`cmps.${id}: unique_id is required`);
    const rest = Object.fromEntries(
      Object.entries(component).filter(([key]) => !PLATFORM_KEYS.includes(key)),
    );
    const merged = { ...shared, ...rest, device: root["device"], origin: root["origin"] };
    const single = `${prefix}/${platform}/${objectId}/${id}/config`;
    for (const problem of discoveryProblems(single, JSON.stringify(merged)))
      problems.push(`cmps.${id}: ${problem}`);
  }
  return problems;
}

/** Every reason Home Assistant would refuse (or quietly misread) this config; empty when it is fine. */
export function discoveryProblems(topic: string, payload: string): string[] {
  const problems: string[] = [];
  const match = DISCOVERY_TOPIC.exec(topic);
  if (match === null) {
    problems.push(
      `topic ${topic} is not <prefix>/<component>/[<node_id>/]<object_id>/config with [a-zA-Z0-9_-] parts`,
    );
    return problems;
  }
  const component = match[2];
  if (component !== "sensor" && component !== "binary_sensor") {
    problems.push(`component "${component ?? ""}" is not sensor or binary_sensor`);
    return problems;
  }

  let config: unknown;
  try {
    config = JSON.parse(payload);
  } catch {
    return [`payload is not JSON: ${payload.slice(0, 80)}`];
  }
  if (!isRecord(config)) return ["payload is not a JSON object"];

  for (const key of unknownKeys(config, TOP_LEVEL_KEYS[component])) {
    problems.push(`unknown ${component} option "${key}" (Home Assistant drops it)`);
  }
  if ("object_id" in config) problems.push(`"object_id" is deprecated; use default_entity_id`);
  // cv.icon: a prefix and a name, "mdi:window-open".
  if ("icon" in config && !(typeof config["icon"] === "string" && /^[^:\s]+:[^:\s]+$/.test(config["icon"])))
    problems.push(`icon ${JSON.stringify(config["icon"])} is not prefix:name`);
  for (const key of ["unique_id", "state_topic"]) {
    if (!nonEmptyString(config[key])) problems.push(`"${key}" must be a non-empty string`);
  }
  // null: the entity takes its device's name (has_entity_name), which then must have one.
  const name = config["name"];
  if (name === null) {
    if (!isRecord(config["device"]) || !nonEmptyString(config["device"]["name"]))
      problems.push('"name" is null, but the device has no name to take');
  } else if (!nonEmptyString(name)) problems.push('"name" must be a non-empty string or null');

  const entityId = config["default_entity_id"];
  if (entityId !== undefined) {
    if (typeof entityId !== "string" || !VALID_ENTITY_ID.test(entityId)) {
      problems.push(`default_entity_id ${JSON.stringify(entityId)} is not a valid entity id`);
    } else if (entityId.length > MAX_ENTITY_ID_LENGTH) {
      problems.push(`default_entity_id is ${entityId.length} characters long; the entity registry takes 255`);
    } else if (!entityId.startsWith(`${component}.`)) {
      problems.push(`default_entity_id ${entityId} is not in the ${component} domain`);
    }
  }

  const device = config["device"];
  if (device !== undefined) {
    if (!isRecord(device)) problems.push("device must be an object");
    else {
      for (const key of unknownKeys(device, DEVICE_KEYS)) problems.push(`unknown device key "${key}"`);
      const identifiers = device["identifiers"];
      const connections = device["connections"];
      if (identifiers === undefined && connections === undefined) {
        problems.push("device needs identifiers or connections");
      }
      if (
        identifiers !== undefined &&
        !nonEmptyString(identifiers) &&
        !(Array.isArray(identifiers) && identifiers.length > 0 && identifiers.every(nonEmptyString))
      ) {
        problems.push("device.identifiers must be a string or a list of strings");
      }
    }
  }

  const origin = config["origin"];
  if (origin !== undefined) {
    if (!isRecord(origin)) problems.push("origin must be an object");
    else {
      for (const key of unknownKeys(origin, ORIGIN_KEYS)) problems.push(`unknown origin key "${key}"`);
      if (!nonEmptyString(origin["name"])) problems.push("origin.name is required");
    }
  }

  const availability = config["availability"];
  if (availability !== undefined) {
    if ("availability_topic" in config)
      problems.push("availability and availability_topic exclude each other");
    if (!Array.isArray(availability) || availability.length === 0) {
      problems.push("availability must be a non-empty list");
    } else {
      availability.forEach((entry: unknown, index) => {
        if (!isRecord(entry)) {
          problems.push(`availability[${index}] must be an object`);
          return;
        }
        for (const key of unknownKeys(entry, AVAILABILITY_KEYS)) {
          problems.push(`unknown availability[${index}] key "${key}"`);
        }
        if (!nonEmptyString(entry["topic"])) problems.push(`availability[${index}].topic is required`);
      });
    }
    if (config["availability_mode"] !== "all") {
      problems.push(
        `availability_mode is ${JSON.stringify(config["availability_mode"])}: with the add-on's status and the entity's own topic, it must be "all"`,
      );
    }
  }

  const deviceClass = config["device_class"];
  const unit = config["unit_of_measurement"];
  if (component === "sensor" && deviceClass === "temperature") {
    if (typeof unit !== "string" || !TEMPERATURE_UNITS.has(unit)) {
      problems.push(`a temperature sensor needs unit °C, °F or K, not ${JSON.stringify(unit)}`);
    }
  }
  if (component === "binary_sensor") {
    if (unit !== undefined) problems.push("a binary_sensor has no unit_of_measurement");
    if (config["payload_on"] !== "ON")
      problems.push(`payload_on is ${JSON.stringify(config["payload_on"])}, not "ON"`);
    if (config["payload_off"] !== "OFF") {
      problems.push(`payload_off is ${JSON.stringify(config["payload_off"])}, not "OFF"`);
    }
  }
  return problems;
}
