import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { groupSlug, renderName, ruleKey, ruleKeyOfEntity, slugify } from "../../src/core/entity-naming.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { compile, compileOne, entitiesAfterRead, numberOf, readAll } from "../support/rules.js";

const T0 = 1_700_000_000_000;
const SLUG = /^[a-z0-9_]*$/;
const KEY = /^[a-z0-9_]+$/;

describe("fan-out over named wildcards", () => {
  const rule = () =>
    compileOne({ name: "{room} temperature", topic: "home/+/+room/temperature", function: "mean" });

  it("makes one entity per room, keyed ruleKey__roomslug and named from the template", () => {
    const store = new ReadingsStore([rule()]);
    expect(store.entities()).toEqual([]);
    store.ingest("home/sensor1/kitchen/temperature", "20", T0);
    store.ingest("home/sensor2/kitchen/temperature", "22", T0);
    store.ingest("home/sensor1/Living Room/temperature", "19", T0);
    store.ingest("home/sensor1/kitchen/humidity", "50", T0);
    const { values, byKey } = readAll(store, T0);
    expect(values).toHaveLength(2);
    const kitchen = byKey.get("room_temperature__kitchen");
    expect(kitchen?.identity).toEqual({
      ruleKey: "room_temperature",
      entityKey: "room_temperature__kitchen",
      name: "kitchen temperature",
      objectId: "kitchen_temperature",
      captures: { room: "kitchen" },
    });
    expect(numberOf(kitchen)).toBe(21);
    expect(kitchen?.fresh).toEqual(["home/sensor1/kitchen/temperature", "home/sensor2/kitchen/temperature"]);
    const living = byKey.get("room_temperature__living_room");
    expect(living?.identity.name).toBe("Living Room temperature");
    expect(living?.identity.objectId).toBe("living_room_temperature");
    expect(numberOf(living)).toBe(19);
    expect(store.entities().map((identity) => identity.entityKey)).toEqual([
      "room_temperature__kitchen",
      "room_temperature__living_room",
    ]);
  });

  it("keeps one entity per raw value when two values slug alike", () => {
    const store = new ReadingsStore([rule()]);
    store.ingest("home/s/Living Room/temperature", "1", T0);
    store.ingest("home/s/living_room/temperature", "2", T0);
    const keys = entitiesAfterRead(store, T0).map((identity) => identity.entityKey);
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(2);
    expect(keys[0]).toBe("room_temperature__living_room");
    expect(keys[1]).toMatch(/^room_temperature__living_room_[0-9a-f]{8}$/);
  });

  it("gives a value with an empty slug a hashed key", () => {
    const store = new ReadingsStore([rule()]);
    store.ingest("home/s/Ä/temperature", "1", T0);
    store.ingest("home/s/日本/temperature", "2", T0);
    store.ingest("home/s//temperature", "3", T0);
    const keys = entitiesAfterRead(store, T0).map((identity) => identity.entityKey);
    expect(keys[0]).toBe("room_temperature__a");
    expect(keys[1]).toMatch(/^room_temperature__x[0-9a-f]{8}$/);
    expect(keys[2]).toMatch(/^room_temperature__x[0-9a-f]{8}$/);
    expect(new Set(keys).size).toBe(3);
  });

  it("does not fan out on plain +", () => {
    const store = new ReadingsStore([
      compileOne({ name: "All temperatures", topic: "home/+/+/temperature", function: "mean" }),
    ]);
    expect(store.entities().map((identity) => identity.entityKey)).toEqual(["all_temperatures"]);
    store.ingest("home/a/kitchen/temperature", "20", T0);
    store.ingest("home/a/hall/temperature", "22", T0);
    const { values } = readAll(store, T0);
    expect(values).toHaveLength(1);
    expect(numberOf(values[0])).toBe(21);
    expect(values[0]?.identity.captures).toEqual({});
  });

  it("combines several wildcards and several filters by name", () => {
    const store = new ReadingsStore([
      compileOne({ name: "{floor} {room}", topic: "a/+floor/+room/t, b/+room/+floor/t", function: "max" }),
    ]);
    store.ingest("a/up/bath/t", "1", T0);
    store.ingest("b/bath/up/t", "5", T0);
    store.ingest("b/hall/down/t", "3", T0);
    const { byKey } = readAll(store, T0);
    expect([...byKey.keys()]).toEqual(["floor_room__up_bath", "floor_room__down_hall"]);
    expect(byKey.get("floor_room__up_bath")?.identity.captures).toEqual({ floor: "up", room: "bath" });
    expect(byKey.get("floor_room__up_bath")?.identity.name).toBe("up bath");
    expect(numberOf(byKey.get("floor_room__up_bath"))).toBe(5);
  });

  it("reads only the rules asked for", () => {
    const store = new ReadingsStore(
      compile([
        { name: "A", topic: "x/+", function: "mean" },
        { name: "B", topic: "x/+", function: "max" },
      ]),
    );
    store.ingest("x/1", "1", T0);
    store.ingest("x/2", "3", T0);
    const { values } = readAll(store, T0, ["b", "missing"]);
    expect(values.map((value) => [value.identity.entityKey, numberOf(value)])).toEqual([["b", 3]]);
  });
});

describe("naming", () => {
  it("derives rule keys from the id, or from the name without braces", () => {
    expect(ruleKey(undefined, "{room} temperature")).toBe("room_temperature");
    expect(ruleKey("my_rule", "{room} temperature")).toBe("my_rule");
    expect(ruleKey(undefined, "Température moyenne")).toBe("temperature_moyenne");
    expect(ruleKey(undefined, "温度")).toMatch(/^rule_[0-9a-f]{8}$/);
  });

  it("renders placeholders and leaves unknown ones alone", () => {
    expect(renderName("{room} / {floor} {other}", ["floor", "room"], ["1", "hall"])).toBe("hall / 1 {other}");
  });

  it("reads the rule back from an entity key", () => {
    expect(ruleKeyOfEntity("room_temperature__kitchen")).toBe("room_temperature");
    expect(ruleKeyOfEntity("room_temperature")).toBe("room_temperature");
  });

  it("slugs are always [a-z0-9_]* without doubled or edge underscores", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (text) => {
        const slug = slugify(text);
        expect(slug).toMatch(SLUG);
        expect(slug).not.toContain("__");
        expect(slug.startsWith("_") || slug.endsWith("_")).toBe(false);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (text) => {
        expect(slugify(text)).toMatch(SLUG);
        expect(groupSlug([text])).toMatch(KEY);
      }),
      { numRuns: 500 },
    );
  });

  it("entity keys and object ids never contain /, + or #, whatever the topics say", () => {
    const level = fc.string({ unit: "binary", maxLength: 12 }).filter((text) => !text.includes("/"));
    fc.assert(
      fc.property(fc.array(fc.tuple(level, level), { minLength: 1, maxLength: 10 }), (pairs) => {
        const store = new ReadingsStore([
          compileOne({ name: "{a} + {b} #", topic: "in/+a/x/+b/#", function: "count" }),
          compileOne({ name: "#/+", topic: "in/#", function: "count" }),
        ]);
        for (const [a, b] of pairs) store.ingest(`in/${a}/x/${b}`, "1", T0);
        for (const identity of entitiesAfterRead(store, T0)) {
          expect(identity.entityKey).toMatch(KEY);
          expect(identity.objectId).toMatch(KEY);
          expect(identity.entityKey).not.toMatch(/[/+#]/);
          expect(ruleKeyOfEntity(identity.entityKey)).toBe(identity.ruleKey);
        }
        const keys = store.entities().map((identity) => identity.entityKey);
        expect(new Set(keys).size).toBe(keys.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe("values whose slugs collide", () => {
  it("keep their keys across a restart, whatever order they arrive in", () => {
    const rule = compileOne({ name: "{room} temperature", topic: "r/+room", function: "max" });
    const keysOf = (store: ReadingsStore): Record<string, string> =>
      Object.fromEntries(
        entitiesAfterRead(store, 12).map((identity) => [identity.captures["room"] ?? "", identity.entityKey]),
      );

    const first = new ReadingsStore([rule]);
    first.ingest("r/Living Room", "20", 0);
    first.ingest("r/living_room", "21", 1);
    first.ingest("r/kitchen", "22", 2);
    const before = keysOf(first);
    expect(before["Living Room"]).toBe("room_temperature__living_room");
    expect(before["living_room"]).toMatch(/^room_temperature__living_room_[0-9a-f]{8}$/);
    expect(first.contestedEntityKeys()).toHaveLength(2);

    // The restart: the other value arrives first this time.
    const second = new ReadingsStore([rule]);
    second.reserveEntityKeys(first.contestedEntityKeys());
    second.ingest("r/living_room", "21", 10);
    second.ingest("r/Living Room", "20", 11);
    second.ingest("r/kitchen", "22", 12);
    expect(keysOf(second)).toEqual(before);
  });
});
