import { describe, expect, it } from "vitest";
import { EntityGroup, identify } from "../../src/core/entity-group.js";
import { Memberships, NO_MEMBERSHIP } from "../../src/core/membership.js";
import type { Rule } from "../../src/core/rule.js";
import { compile } from "../support/rules.js";

const [often, onChange] = compile([
  { name: "Mean", topic: "a/+", function: "mean", max_age: 60 },
  { name: "Open", topic: "a/+", function: "any", on_value: "ON", max_age: 600 },
]);
if (often === undefined || onChange === undefined) throw new Error("rules missing");

function groupOf(id: number, rule: Rule): EntityGroup {
  return new EntityGroup(
    id,
    rule,
    "",
    identify(rule, [], () => false),
  );
}

describe("memberships", () => {
  it("is one object for every source feeding the same groups, worked out once", () => {
    const memberships = new Memberships();
    const mean = groupOf(1, often);
    const open = groupOf(2, onChange);
    const first = memberships.joined(memberships.joined(NO_MEMBERSHIP, mean), open);
    const second = memberships.joined(memberships.joined(NO_MEMBERSHIP, mean), open);
    expect(second).toBe(first);
    expect(first.groups).toEqual([mean, open]);
    expect(first.keepForMs).toBe(600_000);
    // "any" is on change by default: a message marks its group at once.
    expect(first.changeGroups).toEqual([open]);
    expect(memberships.left(first, open)).toBe(memberships.joined(NO_MEMBERSHIP, mean));
    expect(memberships.left(memberships.joined(NO_MEMBERSHIP, mean), mean)).toBe(NO_MEMBERSHIP);
  });

  it("forgets the memberships of a dropped group, so that groups coming and going leave none behind", () => {
    const memberships = new Memberships();
    const kept = groupOf(1, often);
    for (let id = 2; id < 102; id += 1) {
      const passing = groupOf(id, often);
      memberships.joined(memberships.joined(NO_MEMBERSHIP, kept), passing);
      memberships.forgetGroups(new Set([passing]));
    }
    expect(memberships.size).toBe(1);
  });
});
