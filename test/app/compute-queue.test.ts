import { describe, expect, it } from "vitest";
import { ComputeQueue } from "../../src/app/compute-queue.js";
import { readInSlices } from "../../src/app/slices.js";
import type { SteppedRead } from "../../src/core/read-job.js";

describe("computations in turn", () => {
  it("runs a computation queued during a read in slices only after the read's last slice", async () => {
    const queue = new ComputeQueue();
    const order: string[] = [];
    let left = 3;
    const read: SteppedRead = {
      step: () => {
        order.push(`slice ${left}`);
        left -= 1;
        return left === 0;
      },
      result: () => ({ values: [], turnedUnusable: [] }),
    };
    const reading = queue.run(() => readInSlices(read, { budget: 1 }));
    // A flush poked while the read is under way (between its slices).
    setImmediate(() => {
      order.push("flush queued");
      void queue.run(() => order.push("flush"));
    });
    await reading;
    await queue.run(() => undefined);
    expect(order.filter((step) => step.startsWith("slice"))).toEqual(["slice 3", "slice 2", "slice 1"]);
    // Queued between two slices, run after the last.
    expect(order.indexOf("flush queued")).toBeLessThan(order.indexOf("slice 1"));
    expect(order.at(-1)).toBe("flush");
  });

  it("goes on after a computation that failed", async () => {
    const queue = new ComputeQueue();
    await expect(queue.run(() => Promise.reject(new Error("broken")))).rejects.toThrow("broken");
    await expect(queue.run(() => 42)).resolves.toBe(42);
  });
});
