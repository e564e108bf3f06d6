import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { orderByDependencies } from "../../../src/core/formula/index.js";

const order = (entries: [string, string[]][]) => orderByDependencies(new Map(entries));

describe("orderByDependencies", () => {
  it("orders nothing", () => {
    expect(order([])).toEqual({ ok: true, order: [] });
  });

  it("keeps the order of formulas that do not use each other", () => {
    expect(
      order([
        ["b", []],
        ["a", ["x"]],
        ["c", []],
      ]),
    ).toEqual({ ok: true, order: ["b", "a", "c"] });
  });

  it("puts each formula after the formulas it uses", () => {
    expect(
      order([
        ["a", ["b"]],
        ["b", ["c"]],
        ["c", []],
      ]),
    ).toEqual({ ok: true, order: ["c", "b", "a"] });
  });

  it("ignores references to rules that are not formulas", () => {
    expect(
      order([
        ["dew", ["temperature", "humidity"]],
        ["gap", ["dew", "temperature"]],
      ]),
    ).toEqual({
      ok: true,
      order: ["dew", "gap"],
    });
  });

  it("computes a formula used by two others once, before both", () => {
    expect(
      order([
        ["top", ["left", "right"]],
        ["left", ["base"]],
        ["right", ["base"]],
        ["base", []],
      ]),
    ).toEqual({
      ok: true,
      order: ["base", "left", "right", "top"],
    });
  });

  it("reports a formula using itself", () => {
    expect(order([["a", ["a"]]])).toEqual({ ok: false, cycle: ["a", "a"] });
  });

  it("reports a cycle as the keys along it, the first repeated at the end", () => {
    expect(
      order([
        ["a", ["b"]],
        ["b", ["a"]],
      ]),
    ).toEqual({ ok: false, cycle: ["a", "b", "a"] });
    expect(
      order([
        ["x", ["a"]],
        ["a", ["b"]],
        ["b", ["c"]],
        ["c", ["a"]],
      ]),
    ).toEqual({
      ok: false,
      cycle: ["a", "b", "c", "a"],
    });
  });

  it("gives an order with every formula after what it uses, or a real cycle", () => {
    const graph = fc.array(fc.array(fc.nat({ max: 7 }), { maxLength: 3 }), { maxLength: 8 });
    fc.assert(
      fc.property(graph, (uses) => {
        const dependencies = new Map(uses.map((used, index) => [`r${index}`, used.map((to) => `r${to}`)]));
        const result = orderByDependencies(dependencies);
        if (result.ok) {
          expect([...result.order].sort()).toEqual([...dependencies.keys()].sort());
          for (const [key, used] of dependencies)
            for (const other of used)
              if (dependencies.has(other))
                expect(result.order.indexOf(other)).toBeLessThan(result.order.indexOf(key));
        } else {
          const { cycle } = result;
          expect(cycle[0]).toBe(cycle.at(-1));
          for (let index = 0; index + 1 < cycle.length; index += 1)
            expect(dependencies.get(cycle[index] ?? "")).toContain(cycle[index + 1]);
        }
      }),
    );
  });
});
