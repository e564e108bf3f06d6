import type { StatusFeed } from "../app/status-feed.js";
import type { ConfiguredRule } from "../core/rule.js";
import { entityView, ruleView } from "./entity-view.js";
import type { EntityView, RuleView, Snapshot, Update } from "./wire.js";

/** Removed entities remembered for pages that poll; one that polls after more removals reloads all. */
const REMEMBERED_REMOVALS = 1_000;

/**
 * The page's view of what was published: every publish or removal gets the next number, so that
 * each page can be sent what changed since the last number it saw. Views are built only when a
 * page asks; with no page open this is one map entry per entity per read.
 */
export class LiveView {
  readonly rules: readonly RuleView[];
  private readonly rulesByKey: ReadonlyMap<string, ConfiguredRule>;
  /** Entity key → the number of its last publish, in that order. */
  private readonly changed = new Map<string, number>();
  private readonly removed = new Map<string, number>();
  private seq = 0;
  private readonly listeners = new Set<() => void>();
  private readonly stopListening: () => void;

  constructor(
    private readonly feed: StatusFeed,
    rules: readonly ConfiguredRule[],
  ) {
    this.rules = rules.map(ruleView);
    this.rulesByKey = new Map(rules.map((rule) => [rule.key, rule]));
    for (const { value } of feed.current()) this.mark(value.identity.entityKey);
    this.stopListening = feed.listen((event) => {
      if (event.kind === "published") for (const value of event.values) this.mark(value.identity.entityKey);
      else {
        for (const identity of event.identities) {
          this.changed.delete(identity.entityKey);
          this.removed.set(identity.entityKey, ++this.seq);
        }
        while (this.removed.size > REMEMBERED_REMOVALS)
          this.removed.delete(this.removed.keys().next().value ?? "");
      }
      for (const listener of this.listeners) listener();
    });
  }

  get latestSeq(): number {
    return this.seq;
  }

  /** Called after every change; returns the function that stops it. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(now: number): Snapshot {
    const entities: EntityView[] = [];
    for (const key of this.changed.keys()) {
      const view = this.view(key);
      if (view !== undefined) entities.push(view);
    }
    return { now, seq: this.seq, rules: this.rules, entities };
  }

  /** What changed after `after`; undefined when that is too long ago to say (the page reloads all). */
  changesSince(after: number, now: number): Update | undefined {
    const oldestRemoval = this.removed.values().next().value;
    if (this.removed.size >= REMEMBERED_REMOVALS && oldestRemoval !== undefined && after < oldestRemoval)
      return undefined;
    const entities: EntityView[] = [];
    for (const [key, seq] of this.changed) {
      if (seq <= after) continue;
      const view = this.view(key);
      if (view !== undefined) entities.push(view);
    }
    const removed = [...this.removed].filter(([, seq]) => seq > after).map(([key]) => key);
    return { now, seq: this.seq, entities, removed };
  }

  stop(): void {
    this.stopListening();
    this.listeners.clear();
  }

  private mark(entityKey: string): void {
    // Deleted first, so that the map stays in the order of the last publish.
    this.changed.delete(entityKey);
    this.changed.set(entityKey, ++this.seq);
    this.removed.delete(entityKey);
  }

  private view(entityKey: string): EntityView | undefined {
    const published = this.feed.get(entityKey);
    if (published === undefined) return undefined;
    return entityView(published.value, this.rulesByKey.get(published.value.identity.ruleKey), published.at);
  }
}
