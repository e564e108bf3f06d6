import type { DerivedValue, UnusableSource } from "./derived-value.js";
import type { EntityGroup } from "./entity-group.js";
import type { ReadPass } from "./read-pass.js";
import type { Rule } from "./rule.js";
import type { SourceTopic } from "./source-topic.js";

/** What a read found: the derived values, and the sources that turned unusable at it. */
export interface ReadResult {
  readonly values: DerivedValue[];
  readonly turnedUnusable: UnusableSource[];
  /** Rules that compare JSON true/false readings with on values that can never equal them. */
  readonly booleansMissed?: readonly Rule[];
}

/**
 * A read taken a slice at a time, so that a read of 100,000 sources does not hold up the messages
 * behind it: `step` evaluates some more sources, and `result` gives the derived values once every
 * source has been evaluated. Messages arriving between slices are seen by the slices after them.
 */
export interface SteppedRead {
  /**
   * Looks at up to `budget` more sources, and stops early once `enough` says so (asked every few
   * sources: the caller's clock, as the core reads none); true once the read has looked at all.
   */
  step(budget: number, enough?: () => boolean): boolean;
  /** The read's result; only after `step` has returned true. */
  result(): ReadResult;
}

/** Runs a stepped read to its end at once: for callers that need the result now (tests, small reads). */
export function readAtOnce(read: SteppedRead): ReadResult {
  while (!read.step(Number.POSITIVE_INFINITY));
  return read.result();
}

/** Sources evaluated between two calls of a step's `enough`. */
const SOURCES_PER_QUESTION = 32;

/** The store's stepped read: its groups' sources in turn, each evaluated once for all its groups of the read. */
export class ReadJob implements SteppedRead {
  private groupAt = 0;
  private sourceAt = 0;
  /**
   * The list of the group being walked, as it was when the walk began: a source limit replaces a
   * group's list rather than splicing it, so the walk's positions stay true; sources joining push
   * onto it, and are walked too.
   */
  private walking: readonly SourceTopic[] | undefined;
  private done = false;

  constructor(
    private readonly groups: readonly EntityGroup[],
    private readonly pass: ReadPass,
    private readonly finish: (pass: ReadPass) => ReadResult,
  ) {}

  step(budget: number, enough?: () => boolean): boolean {
    let left = budget;
    let walked = false;
    const pass = this.pass;
    while (this.groupAt < this.groups.length) {
      const sources = (this.walking ??= this.groups[this.groupAt]?.sources ?? []);
      while (this.sourceAt < sources.length) {
        // At least one run per step, whatever `enough` says: a read always moves on.
        if (left <= 0 || (walked && enough !== undefined && enough())) return false;
        walked = true;
        // A run of sources between two questions: cheap ones cost a few microseconds together.
        const end = Math.min(sources.length, this.sourceAt + Math.min(left, SOURCES_PER_QUESTION));
        for (let at = this.sourceAt; at < end; at += 1) {
          const source = sources[at];
          if (source !== undefined) pass.visit(source);
        }
        left -= end - this.sourceAt;
        this.sourceAt = end;
      }
      this.groupAt += 1;
      this.sourceAt = 0;
      this.walking = undefined;
    }
    this.done = true;
    return true;
  }

  result(): ReadResult {
    if (!this.done) throw new Error("a read's result was asked for before its last step");
    const result = this.finish(this.pass);
    this.pass.close();
    return result;
  }
}
