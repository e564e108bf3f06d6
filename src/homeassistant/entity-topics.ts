/** Where the add-on and each of its entities publish; every part is `[a-zA-Z0-9_-]`. */
export interface TopicLayout {
  readonly discoveryPrefix: string;
  readonly baseTopic: string;
}

export type Component = "sensor" | "binary_sensor";

export function statusTopic(layout: TopicLayout): string {
  return `${layout.baseTopic}/status`;
}

/** Home Assistant's birth and will messages. */
export function homeAssistantStatusTopic(layout: TopicLayout): string {
  return `${layout.discoveryPrefix}/status`;
}

/** 0.1.0's per-entity discovery config topic, which the device configs have replaced. */
export function legacyConfigTopic(layout: TopicLayout, component: Component, entityKey: string): string {
  return `${layout.discoveryPrefix}/${component}/${layout.baseTopic}/${entityKey}/config`;
}

/** A device's discovery config (device-based discovery), with the base topic as its node id. */
export function deviceConfigTopic(layout: TopicLayout, deviceId: string): string {
  return `${layout.discoveryPrefix}/device/${layout.baseTopic}/${deviceId}/config`;
}

/**
 * Matches every discovery config this add-on may have published under its base topic: the
 * device configs (component `device`) and 0.1.0's per-entity ones.
 */
export function ownConfigsFilter(layout: TopicLayout): string {
  return `${layout.discoveryPrefix}/+/${layout.baseTopic}/+/config`;
}

/** Matches every entity state topic this add-on may have published. */
export function ownStatesFilter(layout: TopicLayout): string {
  return `${layout.baseTopic}/+/state`;
}

export function entityKeyOfStateTopic(layout: TopicLayout, topic: string): string | undefined {
  const parts = topic.split("/");
  if (parts.length !== 3 || parts[0] !== layout.baseTopic || parts[2] !== "state") return undefined;
  return parts[1];
}

/** The topics of one entity's state, attributes and availability. */
export interface EntityTopics {
  readonly state: string;
  readonly attributes: string;
  readonly availability: string;
}

export function entityTopics(layout: TopicLayout, entityKey: string): EntityTopics {
  const root = `${layout.baseTopic}/${entityKey}`;
  return {
    state: `${root}/state`,
    attributes: `${root}/attributes`,
    availability: `${root}/availability`,
  } as const;
}

/**
 * Reads a config topic back into its parts, or undefined when it is not one of ours; `component`
 * is `device` for a device config, whose `objectId` is then the device's id, else the entity key.
 */
export function parseConfigTopic(
  layout: TopicLayout,
  topic: string,
): { component: string; objectId: string } | undefined {
  const parts = topic.split("/");
  if (
    parts.length !== 5 ||
    parts[0] !== layout.discoveryPrefix ||
    parts[2] !== layout.baseTopic ||
    parts[4] !== "config"
  ) {
    return undefined;
  }
  const component = parts[1] ?? "";
  const objectId = parts[3] ?? "";
  return { component, objectId };
}
