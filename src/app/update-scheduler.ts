import type { DerivedValue } from "../core/derived-value.js";
import type { Evaluation } from "../core/evaluation.js";
import { OutputPolicy, type EntityOutput, type Trigger } from "../core/output-policy.js";
import type { ReadResult } from "../core/read-job.js";
import type { ConfiguredRule } from "../core/rule.js";
import { readInSlices } from "./slices.js";

/**
 * How long a burst of messages is gathered before the entities it changed are recomputed: short
 * enough for "a window opened → heating off" within a second, long enough that 1,000 changes in
 * 100 ms make a handful of publishes.
 */
export const COALESCE_MS = 100;

export interface UpdateSchedulerOptions {
  /** What computes the entities whose inputs changed: the store's aggregates and the formulas over them. */
  readonly evaluation: Pick<Evaluation, "hasChanges" | "beginReadChanged" | "markEntityChanged">;
  readonly rules: readonly ConfiguredRule[];
  /** The monotonic clock. */
  readonly now: () => number;
  /** Publishes what the policy decided to show; never rejects. */
  readonly publish: (
    outputs: readonly EntityOutput[],
    /**
     * Whether an output is still the newest decided for its entity, asked as each slice goes out:
     * a flush may decide anew while a read's publishing is under way (or the other way round),
     * and an older output sent after it would stay on the broker until its entity changed again.
     */
    isNewest: (output: EntityOutput) => boolean,
  ) => Promise<void>;
  /**
   * What a flush found besides the values (sources turning unusable, rules missing true/false),
   * for the same warnings as a read's: a group a flush computed is not evaluated again by the next
   * read unless its inputs change.
   */
  readonly onFindings: (found: ReadResult) => void;
  /** Runs a flush's computation in turn with the reads (ComputeQueue); at once by default. */
  readonly inTurn?: <T>(compute: () => Promise<T>) => Promise<T>;
}

/**
 * Decides *when* entities are recomputed outside the read interval: soon after a message changed
 * an `update: change` entity's inputs, when a debounced change falls due, when a held-back numeric
 * entity may be published again, and when a counted reading goes stale. Evaluation (the store and
 * the formulas) decides what the values are; the policy decides what is shown.
 */
export class UpdateScheduler {
  private readonly policy = new OutputPolicy();
  /** The output last decided for each entity: an older one still waiting to go out is not sent. */
  private readonly newest = new Map<string, EntityOutput>();
  private readonly rules: ReadonlyMap<string, ConfiguredRule>;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Entities to compute again by themselves, and when; one timer serves the earliest. */
  private readonly wakes = new Map<string, number>();
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeTimerAt = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(private readonly options: UpdateSchedulerOptions) {
    this.rules = new Map(options.rules.map((rule) => [rule.key, rule]));
  }

  /** After a message: a flush soon, if it changed an entity's inputs. Cheap enough for every message. */
  poke(): void {
    if (this.flushTimer !== undefined || this.stopped || !this.options.evaluation.hasChanges) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, COALESCE_MS);
  }

  /** Values computed at a read time, or by a flush: decided and published. */
  async show(values: readonly DerivedValue[], trigger: Trigger): Promise<void> {
    const now = this.options.now();
    const outputs: EntityOutput[] = [];
    for (const value of values) {
      const rule = this.rules.get(value.identity.ruleKey);
      if (rule === undefined) continue;
      const { output, wakeAt } = this.policy.decide(value, rule, now, trigger);
      if (output !== undefined) outputs.push(output);
      // Staleness of a reading is applied at once only for rules on change; the others wait for their read.
      const wanted = wakeAt !== undefined && (rule.update === "change" || output?.pending !== undefined);
      if (wanted) this.wakes.set(value.identity.entityKey, wakeAt);
      else this.wakes.delete(value.identity.entityKey);
    }
    this.armWakeTimer();
    for (const output of outputs) this.newest.set(output.value.identity.entityKey, output);
    if (outputs.length > 0)
      await this.options.publish(
        outputs,
        (output) => this.newest.get(output.value.identity.entityKey) === output,
      );
  }

  /**
   * Marks for computing the entities whose wake is due, for the read about to run: a read catches
   * up with a wake whose timer has yet to fire (a pending change that fell due, a reading gone stale).
   */
  markDue(): void {
    this.markDueWakes();
    // What the read does not cover (formulas of other intervals, rules not read now) the flush does.
    this.poke();
  }

  /** An entity that is gone: a key that comes back starts afresh, and nothing is kept for it. */
  forget(entityKey: string): void {
    this.policy.forget(entityKey);
    this.newest.delete(entityKey);
    this.wakes.delete(entityKey);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.wakeTimer);
  }

  private async flush(): Promise<void> {
    // One flush at a time: a burst that arrives while publishing is gathered for the next.
    if (this.flushing !== undefined) {
      await this.flushing;
      this.poke();
      return;
    }
    const run = async () => {
      // In slices like a read: a burst may have changed the inputs of every entity on change.
      const compute = async () => {
        const job = this.options.evaluation.beginReadChanged(this.options.now());
        await readInSlices(job);
        return job.result();
      };
      const found = this.options.inTurn === undefined ? await compute() : await this.options.inTurn(compute);
      this.options.onFindings(found);
      await this.show(found.values, "change");
    };
    this.flushing = run().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
    this.poke();
  }

  private armWakeTimer(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const at of this.wakes.values()) earliest = Math.min(earliest, at);
    if (earliest === this.wakeTimerAt || this.stopped) return;
    clearTimeout(this.wakeTimer);
    this.wakeTimerAt = earliest;
    if (!Number.isFinite(earliest)) return;
    const delay = Math.max(0, earliest - this.options.now());
    // setTimeout holds at most 2^31-1 ms; a later wake is re-armed when this one fires.
    this.wakeTimer = setTimeout(() => this.wake(), Math.min(delay, 2_147_483_647));
  }

  private wake(): void {
    this.wakeTimerAt = Number.POSITIVE_INFINITY;
    this.markDueWakes();
    this.armWakeTimer();
    void this.flush();
  }

  /** Marks the entities whose wake has come for recomputing, and forgets those wakes. */
  private markDueWakes(): void {
    const now = this.options.now();
    for (const [entityKey, at] of this.wakes) {
      if (at > now) continue;
      this.wakes.delete(entityKey);
      this.options.evaluation.markEntityChanged(entityKey);
    }
  }
}
