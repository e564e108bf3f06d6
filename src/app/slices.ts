import { setImmediate as nextTurn } from "node:timers/promises";
import type { SteppedRead } from "../core/read-job.js";

/**
 * How long one slice of the publishing after a read should hold the event loop before messages get
 * a turn. Slices grow or shrink towards it, so that it holds on a Raspberry Pi as on a fast machine.
 */
export const SLICE_MS = 10;

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

/**
 * Takes a read to its end a slice at a time, with a turn of the event loop between slices: each
 * slice evaluates sources until SLICE_MS have passed (sources differ a hundredfold in cost: a plain
 * number against a Tasmota's JSON feeding ten rules, so a count of them would not bound a slice).
 * `onSlice` is told how long each took.
 */
export async function readInSlices(
  read: SteppedRead,
  options: {
    readonly targetMs?: number;
    readonly budget?: number;
    readonly onSlice?: (ms: number) => void;
  } = {},
): Promise<void> {
  const targetMs = options.targetMs ?? SLICE_MS;
  for (let done = false, first = true; !done; first = false) {
    if (!first) await nextTurn();
    const started = performance.now();
    const deadline = started + targetMs;
    done = read.step(options.budget ?? Number.POSITIVE_INFINITY, () => performance.now() >= deadline);
    options.onSlice?.(performance.now() - started);
  }
}
