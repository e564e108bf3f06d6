import type { EntityGroup } from "./entity-group.js";

/**
 * The groups a source feeds, and what follows from them for the source: how long its payload is
 * kept, and which groups a message marks for recomputing at once. Sources feeding the same groups
 * (every sensor of one room under the same rules) share one Membership: it is worked out once per
 * set of groups instead of being held by each of 100,000 sources.
 */
export interface Membership {
  readonly groups: readonly EntityGroup[];
  /** The longest `max_age` among the groups' rules: the payload is kept that long. */
  readonly keepForMs: number;
  /** The groups of rules with `update: change`; null when there are none, as for most sources. */
  readonly changeGroups: readonly EntityGroup[] | null;
}

export const NO_MEMBERSHIP: Membership = Object.freeze({
  groups: Object.freeze([]),
  keepForMs: 0,
  changeGroups: null,
});

/**
 * The memberships in use, one per set of groups. A membership naming a group that is dropped is
 * forgotten with it (`forgetGroups`), so that groups coming and going (a BLE phone's MAC) do not
 * leave memberships behind.
 */
export class Memberships {
  private readonly known = new Map<string, Membership>();

  get size(): number {
    return this.known.size;
  }

  /** `membership` with `group` added at the end. */
  joined(membership: Membership, group: EntityGroup): Membership {
    return this.of([...membership.groups, group]);
  }

  /** `membership` without `group`. */
  left(membership: Membership, group: EntityGroup): Membership {
    return this.of(membership.groups.filter((member) => member !== group));
  }

  forgetGroups(groups: ReadonlySet<EntityGroup>): void {
    for (const [key, membership] of this.known)
      if (membership.groups.some((group) => groups.has(group))) this.known.delete(key);
  }

  private of(groups: readonly EntityGroup[]): Membership {
    if (groups.length === 0) return NO_MEMBERSHIP;
    const key = groups.map((group) => group.id).join(",");
    let membership = this.known.get(key);
    if (membership === undefined) {
      const changeGroups = groups.filter((group) => group.rule.update === "change");
      membership = Object.freeze({
        groups: Object.freeze(groups),
        keepForMs: Math.max(...groups.map((group) => group.rule.maxAgeMs)),
        changeGroups: changeGroups.length === 0 ? null : Object.freeze(changeGroups),
      });
      this.known.set(key, membership);
    }
    return membership;
  }
}
