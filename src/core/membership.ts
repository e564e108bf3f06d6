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

interface Shared extends Membership {
  readonly key: string;
  /** Sources holding it: at none it is forgotten, so that groups coming and going leave nothing behind. */
  users: number;
}

/** Who holds a membership: a source, as far as memberships are concerned. */
export interface MembershipHolder {
  membership: Membership;
}

/** The memberships in use, one per list of groups. */
export class Memberships {
  private readonly known = new Map<string, Shared>();

  get size(): number {
    return this.known.size;
  }

  /** Gives `holder` the membership of `groups` (in that order), letting go of its last one. */
  assign(holder: MembershipHolder, groups: readonly EntityGroup[]): void {
    const next = this.of(groups);
    const previous = holder.membership;
    if (next === previous) return;
    if (next !== NO_MEMBERSHIP) (next as Shared).users += 1;
    holder.membership = next;
    if (previous === NO_MEMBERSHIP) return;
    const shared = previous as Shared;
    shared.users -= 1;
    if (shared.users === 0) this.known.delete(shared.key);
  }

  /** Takes `group` out of the holder's membership. */
  leave(holder: MembershipHolder, group: EntityGroup): void {
    this.assign(
      holder,
      holder.membership.groups.filter((member) => member !== group),
    );
  }

  private of(groups: readonly EntityGroup[]): Membership {
    if (groups.length === 0) return NO_MEMBERSHIP;
    const key = groups.map((group) => group.id).join(",");
    let membership = this.known.get(key);
    if (membership === undefined) {
      const changeGroups = groups.filter((group) => group.rule.update === "change");
      membership = {
        key,
        users: 0,
        groups: Object.freeze([...groups]),
        keepForMs: Math.max(...groups.map((group) => group.rule.maxAgeMs)),
        changeGroups: changeGroups.length === 0 ? null : Object.freeze(changeGroups),
      };
      this.known.set(key, membership);
    }
    return membership;
  }
}
