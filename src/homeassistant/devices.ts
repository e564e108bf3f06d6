import type { EntityIdentity } from "../core/entity-group.js";
import { boundedSlug, shortHash, slugify } from "../core/entity-naming.js";
import type { TopicLayout } from "./entity-topics.js";

/**
 * The Home Assistant devices the entities belong to: the add-on's own device, and the devices
 * rules name (`device: Living room`, `device: "{room}"`), so that entities are grouped per room.
 */
export interface DeviceRef {
  /** The last level of its discovery topic, `[a-z0-9_-]`. */
  readonly id: string;
  readonly name: string;
  /** Home Assistant's identifier of the device, stable while the name slugs alike. */
  readonly identifier: string;
  /** Whether it is the add-on's own device (entities of rules that name none). */
  readonly addon: boolean;
}

export const ADDON_DEVICE_NAME = "MQTT Aggregator";
/** A slug never holds "-", so no named device can take the add-on's own topic. */
export const ADDON_DEVICE_ID = "add-on";
/** Of a device's slug, what its topic and identifier keep (a long captured value is cut, with a hash). */
const MAX_DEVICE_ID_LENGTH = 64;
/** The base topic of a default installation, whose unique ids have no instance in them. */
export const DEFAULT_BASE_TOPIC = "mqtt_aggregator";

export function addonDevice(layout: TopicLayout): DeviceRef {
  // 0.1.0's identifier: Home Assistant keeps the device it has had since then.
  return {
    id: ADDON_DEVICE_ID,
    name: ADDON_DEVICE_NAME,
    identifier: `mqtt_aggregator_${layout.baseTopic}`,
    addon: true,
  };
}

export function deviceOf(layout: TopicLayout, identity: EntityIdentity): DeviceRef {
  const name = identity.deviceName;
  if (name === undefined) return addonDevice(layout);
  const slug = slugify(name);
  const id = slug === "" ? `d${shortHash(name)}` : boundedSlug(slug, MAX_DEVICE_ID_LENGTH, name);
  // "." is in neither a base topic nor a slug, so no two instances or devices share one.
  return { id, name, identifier: `mqtt_aggregator.${layout.baseTopic}.${id}`, addon: false };
}

/**
 * The entity's name as Home Assistant's naming rules want it on a device: without the device's
 * name, which Home Assistant puts in front (`Living room` + `Temperature`); `null` when the
 * entity is the device's only meaning (Home Assistant then shows the device's name alone).
 * On the add-on's own device the name stays whole.
 */
export function entityNameOn(device: DeviceRef, name: string): string | null {
  if (device.addon) return name;
  const lower = name.toLowerCase();
  const prefix = device.name.toLowerCase();
  if (lower === prefix) return null;
  if (!lower.startsWith(`${prefix} `)) return name;
  const rest = name.slice(device.name.length).trimStart();
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}

/**
 * The entity's unique id. A default installation keeps 0.1.0's ids; another instance (another
 * `base_topic`) has its base topic in them, so that two instances never share one. "." is in
 * neither a base topic nor a key, so the two forms never meet.
 */
export function uniqueIdOf(layout: TopicLayout, entityKey: string): string {
  return layout.baseTopic === DEFAULT_BASE_TOPIC
    ? `mqtt_aggregator_${entityKey}`
    : `mqtt_aggregator.${layout.baseTopic}.${entityKey}`;
}
