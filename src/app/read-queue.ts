import { setImmediate as nextTurn } from "node:timers/promises";
import type { ReadJob, ReadResult } from "../core/readings-store.js";

/**
 * How long one slice of a read, or of the publishing after it, should hold the event loop before
 * messages get a turn. Slices grow or shrink towards it, so that it holds on a Raspberry Pi as on a
 * fast machine: a read of 100,000 sources is a few dozen slices, not a pause of a tenth of a second.
 */
export const SLICE_MS = 10;

/**
 * Work units of a read's first slice: one per source and per reading (see ReadJob). Small, so that
 * the first slice is short on a slow machine too; the next ones double until they take SLICE_MS.
 */
export const READ_SLICE = 1_000;

/** Entities of a publishing's first slice: a read of 1,000 entities is a burst of 3,000 messages. */
export const PUBLISH_SLICE = 20;

export interface SliceOptions {
  /** The size of the first slice. */
  readonly first?: number;
  /** What a slice should take; null keeps every slice at `first` (for tests that count slices). */
  readonly targetMs?: number | null;
}

function targetOf(options: SliceOptions): number | null {
  return options.targetMs === undefined ? SLICE_MS : options.targetMs;
}

/** A slice size that follows how long the last slice took, by at most half or double at a time. */
class SliceSize {
  private size: number;

  constructor(
    first: number,
    private readonly targetMs: number | null,
    private readonly smallest: number,
  ) {
    this.size = first;
  }

  get current(): number {
    return this.size;
  }

  /**
   * Times `run` and sizes the next slice after it; a last slice, which did less than its size,
   * says nothing about the size.
   */
  timed<T>(run: (size: number) => T, last: (result: T) => boolean = () => false): T {
    const started = performance.now();
    const result = run(this.size);
    if (this.targetMs !== null && !last(result)) {
      const took = Math.max(performance.now() - started, 0.1);
      const factor = Math.min(2, Math.max(0.5, this.targetMs / took));
      this.size = Math.max(this.smallest, Math.round(this.size * factor));
    }
    return result;
  }
}

/**
 * Runs the store's reads one at a time (the interval reads and the flushes of `update: change`
 * entities may fall due together), each a slice at a time with a turn of the event loop between.
 */
export class ReadQueue {
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: SliceOptions = {}) {}

  /** Starts the read once the one before has ended; `begin` is called then, not now. */
  run(begin: () => ReadJob): Promise<ReadResult> {
    const read = this.last.then(async () => {
      const job = begin();
      // Sized afresh for each read: a work unit of one read costs what it costs in another, but
      // its last units (finishing each entity) are cheaper than its first (evaluating sources).
      const slices = new SliceSize(this.options.first ?? READ_SLICE, targetOf(this.options), 100);
      while (
        !slices.timed(
          (budget) => job.step(budget),
          (done) => done,
        )
      )
        await nextTurn();
      return job.result();
    });
    this.last = read.catch(() => undefined);
    return read;
  }
}

/**
 * Hands `items` to `each` a slice at a time, with a turn of the event loop between slices, the
 * slices sized towards SLICE_MS as they go.
 */
export async function inSlices<T>(
  items: readonly T[],
  each: (slice: readonly T[]) => Promise<void>,
  options: SliceOptions = {},
): Promise<void> {
  const slices = new SliceSize(options.first ?? PUBLISH_SLICE, targetOf(options), 10);
  for (let at = 0; at < items.length;) {
    if (at > 0) await nextTurn();
    const from = at;
    const pending = slices.timed(
      (size) => {
        at = Math.min(items.length, from + size);
        return each(items.slice(from, at));
      },
      () => at >= items.length,
    );
    await pending;
  }
}
