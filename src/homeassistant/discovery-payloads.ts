import type { DerivedValue, SourceStatus } from "../core/derived-value.js";
import type { EntityIdentity } from "../core/entity-group.js";
import { isBinaryRule, isFormulaRule, type ConfiguredRule } from "../core/rule.js";
import { canonicalUnit } from "./device-classes.js";
import { ADDON_DEVICE_NAME, deviceOf, entityNameOn, type DeviceRef } from "./devices.js";
import {
  deviceConfigTopic,
  entityTopics,
  statusTopic,
  type Component,
  type EntityTopics,
  type TopicLayout,
} from "./entity-topics.js";

/** What the add-on says about itself in every config. */
export interface AddonInfo {
  readonly version: string;
  readonly supportUrl: string;
}

export interface Message {
  readonly topic: string;
  readonly payload: string;
  /** Seconds after which the broker may forget the retained message (MQTT 5); absent: never. */
  readonly expiresAfterS?: number;
}

/**
 * A retained state outlives its read by this many of the rule's read intervals (with MQTT 5), so
 * that a stopped add-on's values do not linger as if fresh; the publisher renews an unchanged one
 * after half of it.
 */
export const STATE_EXPIRY_INTERVALS = 4;

export function stateExpiryS(rule: ConfiguredRule): number {
  return Math.ceil((rule.intervalMs * STATE_EXPIRY_INTERVALS) / 1000);
}

export function componentOf(rule: ConfiguredRule): Component {
  return isBinaryRule(rule) ? "binary_sensor" : "sensor";
}

/** What the add-on says of itself in every device config; the status page's address once there is one. */
export interface DeviceInfoOptions {
  readonly configurationUrl?: string | undefined;
}

/**
 * One entity's part of its device's config (`cmps`): only keys Home Assistant knows, as an
 * unknown key inside an availability entry makes it reject the component.
 */
export function componentConfig(
  layout: TopicLayout,
  rule: ConfiguredRule,
  identity: EntityIdentity,
  uniqueId: string,
): Record<string, unknown> {
  const component = componentOf(rule);
  const topics = entityTopics(layout, identity.entityKey);
  const { unit, deviceClass, stateClass, precision, icon } = rule.presentation;
  const config: Record<string, unknown> = {
    p: component,
    name: entityNameOn(deviceOf(layout, identity), identity.name),
    unique_id: uniqueId,
    default_entity_id: `${component}.${identity.objectId}`,
    state_topic: topics.state,
    json_attributes_topic: topics.attributes,
    availability: [{ topic: statusTopic(layout) }, { topic: topics.availability }],
    availability_mode: "all",
  };
  if (component === "binary_sensor") {
    config["payload_on"] = "ON";
    config["payload_off"] = "OFF";
  }
  if (unit !== undefined) config["unit_of_measurement"] = canonicalUnit(unit);
  if (deviceClass !== undefined) config["device_class"] = deviceClass;
  if (stateClass !== undefined) config["state_class"] = stateClass;
  if (precision !== undefined) config["suggested_display_precision"] = precision;
  if (icon !== undefined) config["icon"] = icon;
  return config;
}

/** The `dev` block of a device: no key Home Assistant does not know, or it rejects the whole config. */
export function deviceBlock(
  device: DeviceRef,
  addon: AddonInfo,
  options: DeviceInfoOptions = {},
): Record<string, unknown> {
  return {
    identifiers: [device.identifier],
    name: device.name,
    manufacturer: "MQTT Aggregator project",
    model: device.addon ? "Home Assistant add-on" : "Derived entities",
    sw_version: addon.version,
    // A new device lands in the area of its name (a room); Home Assistant ignores it afterwards.
    ...(device.addon ? {} : { suggested_area: device.name }),
    ...(options.configurationUrl === undefined ? {} : { configuration_url: options.configurationUrl }),
  };
}

export function originBlock(addon: AddonInfo): Record<string, unknown> {
  return { name: ADDON_DEVICE_NAME, sw_version: addon.version, support_url: addon.supportUrl };
}

/**
 * One device's discovery config (device-based discovery): the device and the origin once, and
 * each entity as a component under its entity key. A device without components is an empty
 * payload, which removes the config.
 */
export function deviceConfigMessage(
  layout: TopicLayout,
  deviceId: string,
  dev: Record<string, unknown>,
  origin: Record<string, unknown>,
  components: ReadonlyMap<string, Record<string, unknown>>,
): Message {
  const topic = deviceConfigTopic(layout, deviceId);
  if (components.size === 0) return { topic, payload: "" };
  return { topic, payload: JSON.stringify({ dev, o: origin, cmps: Object.fromEntries(components) }) };
}

/** What 0.1.0's per-entity config topics are told before the device config takes their entities over. */
export const MIGRATE_DISCOVERY = JSON.stringify({ migrate_discovery: true });

/**
 * State, attributes and availability of one derived value, all retained by the publisher. State
 * and attributes expire (with MQTT 5); availability never does, nor do discovery configs.
 */
export function stateMessages(
  layout: TopicLayout,
  rule: ConfiguredRule,
  derived: DerivedValue,
  pending?: PendingState,
): Message[] {
  return stateMessagesOn(entityTopics(layout, derived.identity.entityKey), rule, derived, pending);
}

/** The same, on topics the caller keeps: the same strings at every read, hashed once as map keys. */
export function stateMessagesOn(
  topics: EntityTopics,
  rule: ConfiguredRule,
  derived: DerivedValue,
  pending?: PendingState,
): Message[] {
  const expiresAfterS = stateExpiryS(rule);
  const messages: Message[] = [
    { topic: topics.attributes, payload: attributesOf(rule, derived, pending), expiresAfterS },
  ];
  if (derived.state.kind === "none") {
    messages.push({ topic: topics.availability, payload: "offline" });
    return messages;
  }
  messages.push({
    topic: topics.state,
    payload: formatState(derived.state, rule.presentation.precision),
    expiresAfterS,
  });
  // Available after the state, so Home Assistant never shows the previous value as current.
  messages.push({ topic: topics.availability, payload: "online" });
  return messages;
}

/** Longest source name in the attributes: topics are the devices' text, and may be absurdly long. */
const MAX_SOURCE_NAME = 120;

/**
 * What explains the value: each counted source with its value (after unit conversion), and each
 * source that does not count with the reason. Nothing here changes with the mere passing of time,
 * so Home Assistant's recorder stores a new row only when something really changed.
 */
/** A binary entity's change waiting out its delay, and when it takes effect. */
export interface PendingState {
  readonly on: boolean;
  readonly at: Date;
}

export function attributesOf(rule: ConfiguredRule, derived: DerivedValue, pending?: PendingState): string {
  // Keyed by topics: a plain object would get a new hidden class per entity and key, and that
  // (with JSON.stringify of it) was the costliest part of publishing a read. One without a
  // prototype is a dictionary from the start, and serialises alike.
  const sources = dictionary<SourceStatus["value"]>();
  const notCounted = dictionary<string>();
  for (const status of derived.sources) {
    const name = shorten(status.source);
    // A plain object ignores it (the prototype's setter); one without a prototype would keep it.
    if (name === "__proto__") continue;
    if (status.state === "counted") sources[name] = status.value;
    else notCounted[name] = whyNotCounted(status);
  }
  const { counts } = derived;
  // Keys assigned in the order they are written, rather than spread from optional parts.
  const record: Record<string, unknown> = { function: rule.function };
  // A formula's sources are the names it uses, with their values, or why they have none.
  if (isFormulaRule(rule)) record["formula"] = rule.formula.text;
  record["inputs"] = derived.inputs;
  record["sources"] = sources;
  record["not_counted"] = notCounted;
  record["counted_count"] = counts.counted;
  record["not_counted_count"] =
    counts.stale + counts.offline + counts.unusable + counts.out_of_range + counts.unavailable;
  if (derived.leftOut > 0) record["left_out"] = derived.leftOut;
  if (derived.state.kind === "none") record["unavailable_because"] = derived.state.reason;
  if (pending !== undefined)
    record["pending"] = { state: pending.on ? "ON" : "OFF", at: pending.at.toISOString() };
  return JSON.stringify(record);
}

function dictionary<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function whyNotCounted(status: SourceStatus): string {
  switch (status.state) {
    case "stale":
      return "stale";
    case "offline":
      return `offline: ${status.reason ?? ""}`;
    case "out_of_range":
      return `out of range: ${status.reason ?? ""}`;
    case "unavailable":
      return `unavailable: ${status.reason ?? ""}`;
    default:
      return `unusable: ${status.reason ?? ""}`;
  }
}

function shorten(name: string): string {
  return name.length > MAX_SOURCE_NAME ? `${name.slice(0, MAX_SOURCE_NAME - 1)}…` : name;
}

export function formatState(
  state: { kind: "number"; value: number } | { kind: "binary"; on: boolean },
  precision: number | undefined,
): string {
  if (state.kind === "binary") return state.on ? "ON" : "OFF";
  // 21.400000000000002 is float noise from averaging, not information.
  const text =
    precision === undefined ? String(Number(state.value.toPrecision(12))) : state.value.toFixed(precision);
  // A mean of -0.04 rounds to "-0.0": a signed zero is rounding, not a value below zero.
  return Number(text) === 0 ? text.replace(/^-/, "") : text;
}
