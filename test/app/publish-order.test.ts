import { describe, expect, it } from "vitest";
import { ComputeQueue } from "../../src/app/compute-queue.js";
import { inSlices, readInSlices } from "../../src/app/slices.js";
import { UpdateScheduler } from "../../src/app/update-scheduler.js";
import type { DerivedValue } from "../../src/core/derived-value.js";
import { Evaluation } from "../../src/core/evaluation.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { compileAll } from "../support/rules.js";

function shown(value: DerivedValue): string {
  const state = value.state;
  return state.kind === "binary" ? String(state.on) : state.kind === "number" ? String(state.value) : "none";
}

describe("a flush deciding while a read's publishing is under way", () => {
  it("leaves the broker with the newest state, not the read's older one sent after it", async () => {
    const rules = compileAll([
      { name: "Temperature {room}", topic: "t/+room/+", function: "mean" },
      { name: "Open {room}", topic: "w/+room/+", function: "any", on_value: "open", update: "change" },
    ]);
    let clock = 1_000;
    const now = () => clock;
    const store = new ReadingsStore(rules);
    const evaluation = new Evaluation(store, rules);
    const computations = new ComputeQueue();
    const broker = new Map<string, string>();
    let betweenSlices: (() => void) | undefined;
    const updates = new UpdateScheduler({
      evaluation,
      inTurn: (compute) => computations.run(compute),
      rules,
      now,
      // As the add-on publishes: 20 entities a slice, what is no longer newest left out.
      publish: (outputs, isNewest) =>
        inSlices(
          outputs,
          (slice) => {
            for (const output of slice.filter(isNewest))
              broker.set(output.value.identity.entityKey, shown(output.value));
            const between = betweenSlices;
            betweenSlices = undefined;
            if (between !== undefined) setImmediate(between);
            return Promise.resolve();
          },
          { targetMs: null },
        ),
      onFindings: () => undefined,
    });
    async function read(onlyChanged: boolean): Promise<void> {
      const values = await computations.run(async () => {
        const job = evaluation.beginRead(now(), undefined, undefined, { onlyChanged });
        await readInSlices(job);
        return job.result().values;
      });
      await updates.show(values, "interval");
    }
    const temperatures = (value: number) => {
      for (let room = 0; room < 25; room += 1) store.ingest(`t/r${room}/s`, String(value), clock);
    };
    temperatures(20);
    store.ingest("w/hall/a", "closed", clock);
    await read(false);
    clock += 1_000;
    temperatures(21);
    store.ingest("w/hall/b", "closed", clock); // the hall is computed by this read: closed
    // Between the read's first and second slice of publishing, a window opens and its flush runs.
    betweenSlices = () => {
      clock += 1;
      store.ingest("w/hall/a", "open", clock);
      updates.poke();
    };
    await read(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    updates.stop();
    expect(broker.get("open_room__hall")).toBe("true");
  });
});
