import { describe, expect, it } from "vitest";
import { inSlices } from "../../src/app/slices.js";

describe("slices sized by time", () => {
  it("grow while they take less than their target, and shrink when they take more", async () => {
    const sizes: number[] = [];
    await inSlices(
      Array.from({ length: 300 }, (_, index) => index),
      (slice) => {
        sizes.push(slice.length);
        // The fourth and fifth slices take 30 ms whatever their size: the slices shrink back.
        if (sizes.length === 4 || sizes.length === 5) {
          const until = performance.now() + 30;
          while (performance.now() < until) continue;
        }
        return Promise.resolve();
      },
      { first: 10, targetMs: 10 },
    );
    expect(sizes.slice(0, 6)).toEqual([10, 20, 40, 80, 40, 20]);
  });
});

describe("publishing in slices", () => {
  it("hands every item over, in order, a slice at a time with a turn between", async () => {
    const handed: number[][] = [];
    const order: string[] = [];
    setImmediate(() => order.push("turn"));
    await inSlices(
      [1, 2, 3, 4, 5],
      (slice) => {
        handed.push([...slice]);
        order.push(`slice ${slice.join(",")}`);
        return Promise.resolve();
      },
      { first: 2, targetMs: null },
    );
    expect(handed).toEqual([[1, 2], [3, 4], [5]]);
    expect(order[0]).toBe("slice 1,2");
    expect(order).toContain("turn");
    expect(order.indexOf("turn")).toBeLessThan(order.indexOf("slice 5"));
  });
});
