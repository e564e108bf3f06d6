import { fansOut, type Rule } from "./rule.js";
import {
  GROUP_SEPARATOR,
  MAX_CAPTURE_LENGTH,
  MAX_OBJECT_ID_LENGTH,
  boundedSlug,
  groupSlug,
  renderName,
  shortHash,
  slugify,
} from "./entity-naming.js";
import type { GroupTally } from "./derived-value.js";
import type { SourceTopic } from "./source-topic.js";

/** Who a derived entity is: stable keys for Home Assistant and the name shown to the user. */
export interface EntityIdentity {
  readonly ruleKey: string;
  /** `ruleKey`, or `ruleKey__group` for a fanned-out rule; only `[a-z0-9_]`. */
  readonly entityKey: string;
  readonly name: string;
  /** A slug of the name, for Home Assistant's suggested entity id. */
  readonly objectId: string;
  /** Values of the rule's named wildcards, by name. */
  readonly captures: Readonly<Record<string, string>>;
  /** The device it belongs to (a room), placeholders filled in; undefined: the add-on's own. */
  readonly deviceName?: string | undefined;
}

/** What a group's value was last computed from: its inputs as they were when that read began. */
export interface ReadBasis {
  /** The store's arrival count when the read began: a source with a later arrival is new since. */
  readonly arrivals: number;
  readonly at: number;
  readonly availabilityGeneration: number;
}

/** One derived entity's inputs: the topics feeding it and what has been reported about them. */
export class EntityGroup {
  /** In the order they joined; a list costs a third of a Map per source, and only a source limit removes from it. */
  sources: SourceTopic[] = [];
  /** Whether a read has produced a value for it, so that someone may be showing that value. */
  read = false;
  /**
   * Whether the group has had a usable reading: a fanned-out entity exists only from then on, so
   * that topics which never give a value (a bridge's state, a phone's beacon) make no entity.
   */
  revealed = false;
  /** Marked for recomputing at once (`update: change`); the store keeps a list of the marked. */
  changed = false;
  /**
   * What its value was last computed from (by a read or a flush of changes). A read that only
   * wants what changed leaves the group out while nothing is new since (ReadingsStore.unchangedSince):
   * whoever was given that value has it.
   */
  basis: ReadBasis | undefined = undefined;
  /** A source joined or left since `basis`. */
  sourcesChanged = false;
  /** What the read under way (`tallyPass`) has gathered for it: found without a lookup per source. */
  tally: GroupTally | undefined = undefined;
  tallyPass = 0;

  constructor(
    /** Unique in its store: it names the group in the keys of shared memberships. */
    readonly id: number,
    readonly rule: Rule,
    /** The captured values joined with "/", which no topic level can contain. */
    readonly key: string,
    readonly identity: EntityIdentity,
  ) {}
}

/**
 * `reservedKey` is the key this value had in an earlier run, where two values slugged alike:
 * which of them got the plain key depended on arrival order, and must not swap on a restart.
 */
export function identify(
  rule: Pick<Rule, "key" | "nameTemplate" | "captureNames" | "deviceTemplate">,
  captures: readonly string[],
  isTaken: (entityKey: string) => boolean,
  reservedKey?: string,
): EntityIdentity {
  // A topic level may be 65,000 characters long: the name shows its beginning, but the object
  // id hashes all of it, so that values sharing a long beginning get ids of their own.
  const fullName = renderName(rule.nameTemplate, rule.captureNames, captures);
  const name = renderName(rule.nameTemplate, rule.captureNames, captures, MAX_CAPTURE_LENGTH);
  const byName: Record<string, string> = {};
  rule.captureNames.forEach((captureName, index) => {
    byName[captureName] = captures[index] ?? "";
  });
  let entityKey = rule.key;
  if (fansOut(rule)) {
    entityKey = reservedKey ?? `${rule.key}${GROUP_SEPARATOR}${groupSlug(captures)}`;
    // "Living Room" and "living_room" slug alike; the second one gets a tag of its raw value.
    if (reservedKey === undefined && isTaken(entityKey))
      entityKey = `${entityKey}_${shortHash(captures.join("/"))}`;
  }
  // Home Assistant refuses "__" in entity ids, which a fanned-out entity key holds.
  const nameSlug = slugify(fullName);
  const objectId =
    nameSlug === ""
      ? boundedSlug(entityKey.replace(/_+/g, "_"), MAX_OBJECT_ID_LENGTH, entityKey)
      : boundedSlug(nameSlug, MAX_OBJECT_ID_LENGTH, fullName);
  const deviceName =
    rule.deviceTemplate === undefined
      ? undefined
      : renderName(rule.deviceTemplate, rule.captureNames, captures, MAX_CAPTURE_LENGTH);
  return { ruleKey: rule.key, entityKey, name, objectId, captures: byName, deviceName };
}

/** A fanned-out entity's key, saved where arrival order decided it. */
export interface SavedEntityKey {
  readonly rule: string;
  readonly captures: readonly string[];
  readonly entityKey: string;
}

/**
 * Keys of a rule's entities whose captured values slug alike ("Living Room", "living_room"), to
 * be saved: which of them got the plain key depended on the order they were first seen in.
 */
export function contestedKeys(
  rule: Pick<Rule, "key" | "captureNames">,
  identities: Iterable<EntityIdentity>,
): SavedEntityKey[] {
  const bySlug = new Map<string, { captures: string[]; entityKey: string }[]>();
  for (const identity of identities) {
    const captures = rule.captureNames.map((name) => identity.captures[name] ?? "");
    const slug = groupSlug(captures);
    bySlug.set(slug, [...(bySlug.get(slug) ?? []), { captures, entityKey: identity.entityKey }]);
  }
  const saved: SavedEntityKey[] = [];
  for (const members of bySlug.values()) {
    if (members.length < 2) continue;
    for (const { captures, entityKey } of members) saved.push({ rule: rule.key, captures, entityKey });
  }
  return saved;
}
