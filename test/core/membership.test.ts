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
    const first = { membership: NO_MEMBERSHIP };
    const second = { membership: NO_MEMBERSHIP };
    memberships.assign(first, [mean, open]);
    memberships.assign(second, [mean, open]);
    expect(second.membership).toBe(first.membership);
    expect(first.membership.groups).toEqual([mean, open]);
    expect(first.membership.keepForMs).toBe(600_000);
    // "any" is on change by default: a message marks its group at once.
    expect(first.membership.changeGroups).toEqual([open]);
    memberships.leave(first, open);
    expect(first.membership.groups).toEqual([mean]);
    memberships.leave(first, mean);
    expect(first.membership).toBe(NO_MEMBERSHIP);
    expect(memberships.size).toBe(1);
  });

  it("forgets a membership no source holds, so that groups coming and going leave none behind", () => {
    const memberships = new Memberships();
    const kept = groupOf(1, often);
    const holder = { membership: NO_MEMBERSHIP };
    for (let id = 2; id < 102; id += 1) memberships.assign(holder, [kept, groupOf(id, often)]);
    expect(memberships.size).toBe(1);
    memberships.assign(holder, []);
    expect(memberships.size).toBe(0);
  });
});
