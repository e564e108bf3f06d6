/**
 * Computations of derived values one at a time. A read taken in slices lets messages in between,
 * and with them the flushes of changes they cause: a flush between two slices of a read would
 * evaluate sources the read has yet to, so it waits for the read's last slice (a read of 100,000
 * sources takes about a tenth of a second; a home's, a few milliseconds).
 */
export class ComputeQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `compute` once every computation queued before it has ended, however that went. */
  run<T>(compute: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(compute);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
