import { setImmediate as nextTurn } from "node:timers/promises";
import type { ReadJob, ReadResult } from "../core/readings-store.js";

/**
 * Work done between two turns of the event loop during a read: one unit per source and per reading
 * (see ReadJob). About 2 ms here and 10 ms on a Raspberry Pi 4, so that messages keep flowing
 * while 100,000 sources are read, and no turn is held up for long.
 */
export const READ_SLICE = 5_000;

/** Entities published between two turns of the event loop: a read of 1,000 entities is a burst of 3,000 messages. */
export const PUBLISH_SLICE = 100;

/**
 * Runs the store's reads one at a time (the interval reads and the flushes of `update: change`
 * entities may fall due together), each a slice at a time with a turn of the event loop between.
 */
export class ReadQueue {
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly slice = READ_SLICE) {}

  /** Starts the read once the one before has ended; `begin` is called then, not now. */
  run(begin: () => ReadJob): Promise<ReadResult> {
    const read = this.last.then(async () => {
      const job = begin();
      while (!job.step(this.slice)) await nextTurn();
      return job.result();
    });
    this.last = read.catch(() => undefined);
    return read;
  }
}

/** Hands `items` to `each` a slice at a time, with a turn of the event loop between slices. */
export async function inSlices<T>(
  items: readonly T[],
  size: number,
  each: (slice: readonly T[]) => Promise<void>,
): Promise<void> {
  for (let at = 0; at < items.length; at += size) {
    if (at > 0) await nextTurn();
    await each(items.slice(at, at + size));
  }
}
