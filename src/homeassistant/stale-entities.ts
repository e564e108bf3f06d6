import { GROUP_SEPARATOR, ruleKeyOfEntity } from "../core/entity-naming.js";
import { fansOut, type ConfiguredRule } from "../core/rule.js";
import { componentOf } from "./discovery-payloads.js";
import { entityTopics, parseConfigTopic, type TopicLayout } from "./entity-topics.js";

/**
 * Retained topics to clear, one list per entity, for entities this add-on published before but whose rule is gone
 * (or now yields another kind of entity: then only its config). Entities of current rules, fanned-out ones included,
 * are kept even when not seen yet since the start, so their history in Home Assistant survives; except fanned-out
 * entities that never had a value (0.1.0 made one per value seen, such as a bridge's state topic).
 */
export function staleEntityTopics(
  layout: TopicLayout,
  retainedConfigTopics: readonly string[],
  rules: readonly ConfiguredRule[],
  hadValue: (entityKey: string) => boolean,
): string[][] {
  const rulesByKey = new Map(rules.map((rule) => [rule.key, rule]));
  const stale: string[][] = [];
  for (const topic of retainedConfigTopics) {
    const parsed = parseConfigTopic(layout, topic);
    if (parsed === undefined) continue;
    const rule = rulesByKey.get(ruleKeyOfEntity(parsed.entityKey));
    const keyInUse =
      rule !== undefined &&
      (fansOut(rule) ? parsed.entityKey.includes(GROUP_SEPARATOR) : parsed.entityKey === rule.key);
    if (keyInUse && (!fansOut(rule) || hadValue(parsed.entityKey))) {
      // Another kind of entity under a current key: its config goes, but the state topics (named by
      // the key alone) are the current entity's and must stay.
      if (componentOf(rule) !== parsed.component) stale.push([topic]);
      continue;
    }
    const topics = entityTopics(layout, parsed.entityKey);
    stale.push([topic, topics.state, topics.attributes, topics.availability]);
  }
  return stale;
}
