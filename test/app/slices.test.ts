import { describe, expect, it } from "vitest";
import { inSlices } from "../../src/app/slices.js";

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
