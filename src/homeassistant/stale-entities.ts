import { GROUP_SEPARATOR, ruleKeyOfEntity } from "../core/entity-naming.js";
import { fansOut, type ConfiguredRule } from "../core/rule.js";
import { componentOf } from "./discovery-payloads.js";
import { entityTopics, parseConfigTopic, type TopicLayout } from "./entity-topics.js";

/**
 * What the broker holds of the add-on's discovery when it starts, and what to do with it:
 *
 * - entities of current rules are kept, fanned-out ones included even when not seen yet since the
 *   start, so their history in Home Assistant survives; except fanned-out entities that never had
 *   a value (0.1.0 made one per value seen, such as a bridge's state topic);
 * - a kept entity keeps the unique id its config has, whatever the current form of ids;
 * - a kept entity in a device config is carried over until the add-on computes it again, or
 *   republishing that device's config would make Home Assistant remove it;
 * - a kept entity in one of 0.1.0's per-entity configs is migrated to its device's config when
 *   the add-on announces it (`migrate_discovery`), and left as it is until then;
 * - everything else is removed, with its state topics.
 */
export interface DiscoveryPlan {
  /** The unique ids Home Assistant knows the kept entities by, by entity key. */
  readonly uniqueIds: ReadonlyMap<string, string>;
  /** Kept entities published in a device config before, by device id: its `dev` block and their components. */
  readonly carried: ReadonlyMap<string, CarriedDevice>;
  /** 0.1.0's per-entity config topics of kept entities, by entity key. */
  readonly legacy: ReadonlyMap<string, string>;
  /** Retained topics to clear, one list per removed entity or device config. */
  readonly stale: readonly (readonly string[])[];
  /** The names of the removed entities, for the log. */
  readonly removedNames: readonly string[];
}

export interface CarriedDevice {
  readonly dev: Readonly<Record<string, unknown>>;
  readonly components: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
}

type JsonObject = Record<string, unknown>;

export function planDiscovery(
  layout: TopicLayout,
  retainedConfigs: ReadonlyMap<string, string>,
  rules: readonly ConfiguredRule[],
  hadValue: (entityKey: string) => boolean,
): DiscoveryPlan {
  const rulesByKey = new Map(rules.map((rule) => [rule.key, rule]));
  const uniqueIds = new Map<string, string>();
  const carried = new Map<string, CarriedDevice>();
  const legacy = new Map<string, string>();
  const stale: string[][] = [];
  const removedNames: string[] = [];
  const kept = (entityKey: string, platform: string): boolean => {
    const rule = rulesByKey.get(ruleKeyOfEntity(entityKey));
    if (rule === undefined || componentOf(rule) !== platform) return false;
    if (!fansOut(rule)) return entityKey === rule.key;
    return entityKey.includes(GROUP_SEPARATOR) && hadValue(entityKey);
  };
  const remove = (entityKey: string, name: unknown, ...configTopics: string[]) => {
    const topics = entityTopics(layout, entityKey);
    stale.push([...configTopics, topics.state, topics.attributes, topics.availability]);
    removedNames.push(typeof name === "string" && name !== "" ? name : entityKey);
  };

  for (const [topic, payload] of retainedConfigs) {
    const parsed = parseConfigTopic(layout, topic);
    if (parsed === undefined) continue;
    const config = parseObject(payload);
    if (parsed.component === "device") {
      const components = config === undefined ? undefined : asObject(config["cmps"] ?? config["components"]);
      const dev = config === undefined ? undefined : asObject(config["dev"] ?? config["device"]);
      const keep = new Map<string, JsonObject>();
      for (const [entityKey, value] of Object.entries(components ?? {})) {
        const component = asObject(value);
        const platform = component?.["p"] ?? component?.["platform"];
        if (component === undefined || typeof platform !== "string") continue;
        if (!kept(entityKey, platform)) {
          remove(entityKey, component["name"]);
          continue;
        }
        keep.set(entityKey, component);
        const uniqueId = component["unique_id"];
        if (typeof uniqueId === "string") uniqueIds.set(entityKey, uniqueId);
      }
      if (keep.size > 0 && dev !== undefined) carried.set(parsed.objectId, { dev, components: keep });
      // Nothing of it is kept: the config itself goes (its components' topics are listed above).
      else stale.push([topic]);
      continue;
    }
    const entityKey = parsed.objectId;
    const uniqueId = config?.["unique_id"];
    const rule = rulesByKey.get(ruleKeyOfEntity(entityKey));
    if (kept(entityKey, parsed.component)) {
      legacy.set(entityKey, topic);
      if (typeof uniqueId === "string" && !uniqueIds.has(entityKey)) uniqueIds.set(entityKey, uniqueId);
    } else if (
      rule !== undefined &&
      componentOf(rule) !== parsed.component &&
      kept(entityKey, componentOf(rule))
    ) {
      // Another kind of entity under a current key: its config goes, but the state topics (named by
      // the key alone) are the current entity's and must stay.
      stale.push([topic]);
      removedNames.push(typeof config?.["name"] === "string" ? config["name"] : entityKey);
    } else {
      remove(entityKey, config?.["name"], topic);
    }
  }
  return { uniqueIds, carried, legacy, stale, removedNames };
}

function parseObject(payload: string): JsonObject | undefined {
  try {
    return asObject(JSON.parse(payload));
  } catch {
    return undefined;
  }
}

function asObject(value: unknown): JsonObject | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}
