import { LISTED_SOURCES, type DerivedValue } from "./derived-value.js";
import type { EntityIdentity } from "./entity-group.js";
import { FormulaRules } from "./formula-rules.js";
import { readAtOnce, type ReadResult, type SteppedRead } from "./read-job.js";
import type { ReadingsStore, SavedEntityKey } from "./readings-store.js";
import type { ConfiguredRule } from "./rule.js";

/**
 * What every entity's value is: the store's aggregates of the readings, then the formulas over
 * them, at a read time or a flush of changes. The callers (the read schedule, the update
 * scheduler, the publisher's announcements) see one set of entities, whichever rule makes them.
 */
export class Evaluation {
  readonly formulas: FormulaRules;

  constructor(
    readonly store: ReadingsStore,
    rules: readonly ConfiguredRule[],
  ) {
    this.formulas = new FormulaRules(rules);
  }

  /** Derived values of the given rules (all by default), and of the formulas that use them. */
  read(now: number, ruleKeys?: readonly string[], listLimit = LISTED_SOURCES): ReadResult {
    return readAtOnce(this.beginRead(now, ruleKeys, listLimit));
  }

  /**
   * The same read a slice at a time: the store's sources in slices, then the formulas at once in
   * the last (they read the aggregates, a few per entity, not topics). With `onlyChanged`, the
   * store leaves out entities whose inputs did not change since they were computed; the formulas
   * of the rules read are all computed, from the last values of what they use.
   */
  beginRead(
    now: number,
    ruleKeys?: readonly string[],
    listLimit = LISTED_SOURCES,
    options: { readonly onlyChanged?: boolean } = {},
  ): SteppedRead {
    return withFormulas(this.store.beginRead(now, ruleKeys, listLimit, options), (values) =>
      this.formulas.afterRead(values, now, ruleKeys),
    );
  }

  /** Derived values of the `update: change` entities whose inputs changed, formulas following them. */
  readChanged(now: number, listLimit = LISTED_SOURCES): ReadResult {
    return readAtOnce(this.beginReadChanged(now, listLimit));
  }

  /** The same a slice at a time, the formulas following in the last. */
  beginReadChanged(now: number, listLimit = LISTED_SOURCES): SteppedRead {
    return withFormulas(this.store.beginReadChanged(now, listLimit), (values) =>
      this.formulas.afterChange(values, now),
    );
  }

  /** Whether a readChanged has something to compute. Cheap enough for every message. */
  get hasChanges(): boolean {
    return this.store.hasChanges || this.formulas.hasMarks;
  }

  /** Marks an entity (of either kind of rule) for recomputing at the next readChanged. */
  markEntityChanged(entityKey: string): void {
    if (!this.formulas.mark(entityKey)) this.store.markEntityChanged(entityKey);
  }

  /** Every entity known now. */
  entities(): EntityIdentity[] {
    return [...this.store.entities(), ...this.formulas.entities()];
  }

  /** Keys of fanned-out entities that exist, to be saved so that a restart does not hide them. */
  shownEntityKeys(): string[] {
    return [...this.store.shownEntityKeys(), ...this.formulas.shownEntityKeys()];
  }

  /** Takes back the keys saved by shownEntityKeys; call before any reading arrives. */
  rememberShownEntities(entityKeys: readonly string[]): void {
    this.store.rememberShownEntities(entityKeys);
    this.formulas.rememberShownEntities(entityKeys);
  }

  /** Keys of fanned-out entities whose values slug alike, to be saved: who got the plain key must not swap. */
  contestedEntityKeys(): SavedEntityKey[] {
    return [...this.store.contestedEntityKeys(), ...this.formulas.contestedEntityKeys()];
  }

  /** Takes back the keys saved by contestedEntityKeys; call before any reading arrives. */
  reserveEntityKeys(saved: readonly SavedEntityKey[]): void {
    this.store.reserveEntityKeys(saved);
    this.formulas.reserveEntityKeys(saved);
  }
}

/** The store's stepped read, with the formulas over its values computed once it is done. */
function withFormulas(
  aggregates: SteppedRead,
  formulasOver: (values: readonly DerivedValue[]) => DerivedValue[],
): SteppedRead {
  return {
    step: (budget, enough) => aggregates.step(budget, enough),
    result: () => {
      const result = aggregates.result();
      return { ...result, values: [...result.values, ...formulasOver(result.values)] };
    },
  };
}
