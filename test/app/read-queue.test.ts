import { describe, expect, it } from "vitest";
import { inSlices, ReadQueue } from "../../src/app/read-queue.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { compile } from "../support/rules.js";

const T0 = 1_700_000_000_000;

function storeWith(topics: number): ReadingsStore {
  const store = new ReadingsStore(
    compile([{ name: "Mean", topic: "t/+", function: "mean", update: "change" }], { max_sources: 10_000 }),
  );
  for (let index = 0; index < topics; index += 1) store.ingest(`t/${index}`, String(index), T0);
  return store;
}

describe("the read queue", () => {
  it("lets the event loop turn between slices of a read", async () => {
    const store = storeWith(1_000);
    const queue = new ReadQueue({ first: 100, targetMs: null });
    const events: string[] = [];
    let steps = 0;
    const read = queue.run(() => {
      const job = store.beginRead(T0 + 1);
      return {
        step: (budget) => {
          steps += 1;
          return job.step(budget);
        },
        result: () => job.result(),
      };
    });
    // A message handled while the read is under way is taken as it comes.
    setImmediate(() => {
      store.ingest("t/new", "5000", T0);
      events.push(`ingested after ${steps} slice(s)`);
    });
    const { values } = await read;
    events.push("read ended");
    expect(events).toEqual(["ingested after 1 slice(s)", "read ended"]);
    expect(steps).toBeGreaterThan(10);
    expect(values[0]?.inputs).toBeGreaterThanOrEqual(1_000);
  });

  it("runs reads one after the other, each begun once the one before has ended", async () => {
    const store = storeWith(500);
    const queue = new ReadQueue({ first: 10, targetMs: null });
    const begun: string[] = [];
    const first = queue.run(() => {
      begun.push("first");
      return store.beginRead(T0 + 1);
    });
    const second = queue.run(() => {
      begun.push("second");
      return store.beginReadChanged(T0 + 1);
    });
    expect(begun).toEqual([]);
    const [a, b] = await Promise.all([first, second]);
    expect(begun).toEqual(["first", "second"]);
    expect(a.values).toHaveLength(1);
    expect(b.values).toHaveLength(1);
  });

  it("goes on after a read that failed", async () => {
    const store = storeWith(10);
    const queue = new ReadQueue();
    const failed = queue.run(() => {
      throw new Error("boom");
    });
    await expect(failed).rejects.toThrow("boom");
    expect((await queue.run(() => store.beginRead(T0 + 1))).values).toHaveLength(1);
  });
});

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
