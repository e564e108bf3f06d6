import type { DerivedValue } from "./derived-value.js";
import { isBinaryRule, type ConfiguredRule } from "./rule.js";

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
  /**
   * The binary state last shown, kept through a spell of unavailability: a Zigbee network that
   * restarts must not turn "nobody moved for 10 minutes" on at once when its sensors come back.
   */
  shownOn: boolean | undefined;
  pending: PendingChange | undefined;
  /** When the state last changed in what was shown; `min_interval` counts from there. */
  lastOutputAt: number;
  lastState: string | undefined;
}

/**
 * Decides *when* an entity shows what evaluation computed: debounce for binary entities
 * (`delay_on`, `delay_off`, cancelled by a change back), and at most one output per `min_interval`
 * for numeric entities updated on change. Time is passed in; nothing here reads a clock.
 */
export class OutputPolicy {
  private readonly states = new Map<string, EntityState>();

  decide(value: DerivedValue, rule: ConfiguredRule, now: number, trigger: Trigger): OutputDecision {
    const key = value.identity.entityKey;
    let state = this.states.get(key);
    if (state === undefined) {
      state = {
        shownOn: undefined,
        pending: undefined,
        lastOutputAt: Number.NEGATIVE_INFINITY,
        lastState: undefined,
      };
      this.states.set(key, state);
    }
    const expiry = value.changesAt;
    if (!isBinaryRule(rule)) {
      // Only a changed state uses up min_interval: a computation that changes nothing publishes nothing.
      const shownState = stateText(value);
      if (shownState !== state.lastState) {
        const allowedAt = state.lastOutputAt + rule.minIntervalMs;
        if (trigger === "change" && rule.update === "change" && now < allowedAt)
          return { output: undefined, wakeAt: allowedAt };
        state.lastState = shownState;
        state.lastOutputAt = now;
      }
      return { output: { value, pending: undefined }, wakeAt: expiry };
    }
    if (value.state.kind !== "binary") {
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

  /** Forgets an entity that is gone, so that its key starts afresh if it comes back. */
  forget(entityKey: string): void {
    this.states.delete(entityKey);
  }
}

function stateText(value: DerivedValue): string {
  const state = value.state;
  return state.kind === "number" ? String(state.value) : state.kind === "binary" ? String(state.on) : "none";
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
