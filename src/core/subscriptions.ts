import { availabilitySubscriptionOf } from "./device-availability.js";
import { isFormulaRule, type ConfiguredRule, type Rule } from "./rule.js";

/**
 * What to subscribe to for a set of rules: each distinct filter once (named wildcards are plain `+`
 * on the wire), then the filters their devices' availability topics arrive on, unless another
 * subscription already delivers them.
 */
export function subscriptionsOf(configured: readonly ConfiguredRule[]): string[] {
  const rules = configured.filter((rule): rule is Rule => !isFormulaRule(rule));
  const reading = [...new Set(rules.flatMap((rule) => rule.filters.map((filter) => filter.subscription)))];
  const availability = new Set<string>();
  for (const rule of rules) {
    for (const filter of rule.filters) {
      const derived = availabilitySubscriptionOf(filter.subscription, rule.availability);
      if (derived !== undefined && !reading.some((each) => covers(each, derived))) availability.add(derived);
    }
  }
  return [...reading, ...availability];
}

/** Whether every topic `inner` matches is matched by `outer` too. */
export function covers(outer: string, inner: string): boolean {
  const outerLevels = outer.split("/");
  const innerLevels = inner.split("/");
  for (const [index, level] of outerLevels.entries()) {
    if (level === "#") return true;
    const other = innerLevels[index];
    if (other === undefined || other === "#") return false;
    if (level !== "+" && (other === "+" || other !== level)) return false;
  }
  return outerLevels.length === innerLevels.length;
}
