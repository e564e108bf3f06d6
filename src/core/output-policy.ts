import { isBinaryFunction } from "./aggregate-functions.js";
import type { DerivedValue } from "./derived-value.js";
import type { Rule } from "./rule.js";

/** A binary entity's change that waits out `delay_on` or `delay_off`. */
export interface PendingChange {
  readonly on: boolean;
  /** When it takes effect, on the monotonic clock. */
  readonly at: number;
}

/** What to show for an entity now: its computed value, with a debounced state where delays apply. */
export interface EntityOutput {
  readonly value: DerivedValue;
  readonly pending: PendingChange | undefined;
}

export interface OutputDecision {
  /** Undefined while `min_interval` holds the entity back: nothing is published now. */
  readonly output: EntityOutput | undefined;
  /** When to compute the entity again by itself: a pending change, a held-back one, a reading going stale. */
  readonly wakeAt: number | undefined;
}

/** What caused a computation: a changed input (`update: change`), or the rule's read interval. */
export type Trigger = "change" | "interval";

interface EntityState {
  /** The binary state last shown, or undefined after none or an unavailable one. */
  shownOn: boolean | undefined;
  pending: PendingChange | undefined;
  lastOutputAt: number;
}

/**
 * Decides *when* an entity shows what evaluation computed: debounce for binary entities
 * (`delay_on`, `delay_off`, cancelled by a change back), and at most one output per `min_interval`
 * for numeric entities updated on change. Time is passed in; nothing here reads a clock.
 */
export class OutputPolicy {
  private readonly states = new Map<string, EntityState>();

  decide(value: DerivedValue, rule: Rule, now: number, trigger: Trigger): OutputDecision {
    const key = value.identity.entityKey;
    let state = this.states.get(key);
    if (state === undefined) {
      state = { shownOn: undefined, pending: undefined, lastOutputAt: Number.NEGATIVE_INFINITY };
      this.states.set(key, state);
    }
    const expiry = value.changesAt;
    if (trigger === "change") {
      const allowedAt = this.heldUntil(key, rule, now);
      if (allowedAt !== undefined) return { output: undefined, wakeAt: allowedAt };
    }
    state.lastOutputAt = now;
    if (!isBinaryFunction(rule.function) || value.state.kind !== "binary") {
      state.shownOn = undefined;
      state.pending = undefined;
      return { output: { value, pending: undefined }, wakeAt: expiry };
    }
    const computed = value.state.on;
    const delay = computed ? rule.delayOnMs : rule.delayOffMs;
    if (state.shownOn === undefined || state.shownOn === computed || delay === 0) {
      // The first state, a state confirmed, or no delay for it: shown at once; a pending change back is cancelled.
      state.shownOn = computed;
      state.pending = undefined;
    } else if (state.pending?.on !== computed) {
      state.pending = { on: computed, at: now + delay };
    } else if (now >= state.pending.at) {
      state.shownOn = computed;
      state.pending = undefined;
    }
    const shown: DerivedValue = { ...value, state: { kind: "binary", on: state.shownOn } };
    const wakeAt = earliest(state.pending?.at, expiry);
    return { output: { value: shown, pending: state.pending }, wakeAt };
  }

  /**
   * When a numeric entity on change may be shown again, while `min_interval` holds it back after
   * its last output; undefined when it may be shown now. Computing it before then is wasted work.
   */
  heldUntil(entityKey: string, rule: Rule, now: number): number | undefined {
    if (rule.update !== "change" || isBinaryFunction(rule.function)) return undefined;
    const state = this.states.get(entityKey);
    if (state === undefined) return undefined;
    const allowedAt = state.lastOutputAt + rule.minIntervalMs;
    return now < allowedAt ? allowedAt : undefined;
  }

  /** Forgets an entity that is gone, so that its key starts afresh if it comes back. */
  forget(entityKey: string): void {
    this.states.delete(entityKey);
  }
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
