import { describe, expect, it } from "vitest";
import {
  MAX_CAPTURE_LENGTH,
  MAX_OBJECT_ID_LENGTH,
  MAX_RULE_NAME_LENGTH,
  groupSlug,
  ruleKey,
  ruleKeyOfEntity,
  shortHash,
} from "../../src/core/entity-naming.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { compileOne, entitiesAfterRead, fieldProblemsOf } from "../support/rules.js";

/**
 * What a device's topic may make of the add-on's own topics and ids: a level of 65,510 characters
 * is a valid MQTT topic, and must not make a topic, a unique_id or an entity id nobody can use.
 */

const T0 = 1_700_000_000_000;
const KEY = /^[a-z0-9_]+$/;
const HASH = /_[0-9a-f]{8}$/;
/** The longest entity key: a rule key, "__", a captured value's slug and a collision tag. */
const LONGEST_KEY = MAX_RULE_NAME_LENGTH + 2 + MAX_CAPTURE_LENGTH + 9;

const rule = () =>
  compileOne({ name: "Temperature {room}", topic: "home/+room/temperature", function: "mean" });

function identityOf(room: string) {
  const store = new ReadingsStore([rule()]);
  store.ingest(`home/${room}/temperature`, "21", T0);
  const [identity] = entitiesAfterRead(store, T0);
  if (identity === undefined) throw new Error("no entity");
  return identity;
}

describe("a long captured value", () => {
  const long = "a".repeat(65_510);

  it("makes a bounded key that ends in a hash of the whole value", () => {
    const identity = identityOf(long);
    expect(identity.entityKey).toMatch(KEY);
    expect(identity.entityKey).toMatch(HASH);
    expect(identity.entityKey.length).toBeLessThanOrEqual(LONGEST_KEY);
    expect(identity.entityKey).toBe(`temperature_room__${"a".repeat(119)}_${shortHash(long)}`);
    expect(ruleKeyOfEntity(identity.entityKey)).toBe("temperature_room");
    expect(identity.entityKey.indexOf("__")).toBe(identity.entityKey.lastIndexOf("__"));
  });

  it("shows the beginning of the value in the name, and hashes all of it in the object id", () => {
    const identity = identityOf(long);
    expect(identity.name).toBe(`Temperature ${"a".repeat(MAX_CAPTURE_LENGTH)}…`);
    expect(identity.objectId).toMatch(KEY);
    expect(identity.objectId).toMatch(HASH);
    expect(identity.objectId.length).toBeLessThanOrEqual(MAX_OBJECT_ID_LENGTH);
    expect(`binary_sensor.${identity.objectId}`.length).toBeLessThanOrEqual(255);
    // The value itself stays whole where it is data, not an id.
    expect(identity.captures["room"]).toBe(long);
  });

  it("keeps its key across runs, apart from another that begins alike", () => {
    expect(identityOf(long)).toEqual(identityOf(long));
    const other = identityOf(`${long.slice(0, -1)}b`);
    expect(other.entityKey).not.toBe(identityOf(long).entityKey);
    expect(other.objectId).not.toBe(identityOf(long).objectId);
    expect(other.name).toBe(identityOf(long).name);
  });

  it("is cut by characters, not by halves of them", () => {
    const emoji = identityOf("🌡".repeat(16_000));
    expect(emoji.name).toBe(`Temperature ${"🌡".repeat(MAX_CAPTURE_LENGTH)}…`);
    expect(emoji.entityKey).toMatch(/^temperature_room__x[0-9a-f]{8}$/);
    const accented = identityOf("é".repeat(30_000));
    expect(accented.name).toBe(`Temperature ${"é".repeat(MAX_CAPTURE_LENGTH)}…`);
    expect(accented.entityKey).toBe(`temperature_room__${"e".repeat(119)}_${shortHash("é".repeat(30_000))}`);
    expect(accented.objectId.length).toBeLessThanOrEqual(MAX_OBJECT_ID_LENGTH);
  });
});

describe("values of current installs", () => {
  it("keep their keys, names and object ids up to the bounds", () => {
    expect(identityOf("kitchen")).toMatchObject({
      entityKey: "temperature_room__kitchen",
      name: "Temperature kitchen",
      objectId: "temperature_kitchen",
    });
    const longest = "b".repeat(MAX_CAPTURE_LENGTH);
    expect(identityOf(longest)).toMatchObject({
      entityKey: `temperature_room__${longest}`,
      name: `Temperature ${longest}`,
      objectId: `temperature_${longest}`,
    });
    expect(groupSlug(["Living Room", "up"])).toBe("living_room_up");
    expect(ruleKey(undefined, "x".repeat(MAX_RULE_NAME_LENGTH))).toBe("x".repeat(MAX_RULE_NAME_LENGTH));
  });
});

describe("long names", () => {
  it("are refused in the options beyond 255 characters, naming the rule", () => {
    const at = (name: string) => fieldProblemsOf({ rules: [{ name, topic: "a/+", function: "mean" }] });
    expect(at("n".repeat(MAX_RULE_NAME_LENGTH))).toEqual([]);
    expect(at("n".repeat(70_000))).toEqual(["rules[0].name: must be at most 255 characters long, not 70000"]);
    expect(
      fieldProblemsOf({ rules: [{ name: "Mean", id: "i".repeat(256), topic: "a/+", function: "mean" }] }),
    ).toEqual(["rules[0].id: must be at most 255 characters long, not 256"]);
    expect(fieldProblemsOf({ base_topic: "b".repeat(256) })).toEqual([
      "base_topic: must be at most 255 characters long, not 256",
    ]);
    expect(fieldProblemsOf({ discovery_prefix: "d".repeat(256) })).toEqual([
      "discovery_prefix: must be at most 255 characters long, not 256",
    ]);
  });

  it("whose accents unfold into more letters still make a bounded rule key", () => {
    // "ﬃ" is one character that NFKD unfolds into "ffi".
    const key = ruleKey(undefined, "ﬃ".repeat(MAX_RULE_NAME_LENGTH));
    expect(key).toMatch(KEY);
    expect(key.length).toBeLessThanOrEqual(MAX_RULE_NAME_LENGTH);
    expect(key).toMatch(HASH);
  });

  it("with a long captured value make an object id Home Assistant accepts", () => {
    const longRule = compileOne({
      name: `${"Sensor ".repeat(35)}{room}`,
      topic: "home/+room/temperature",
      function: "mean",
    });
    const store = new ReadingsStore([longRule]);
    store.ingest(`home/${"c".repeat(60_000)}/temperature`, "1", T0);
    const [identity] = entitiesAfterRead(store, T0);
    expect(identity?.objectId).toMatch(KEY);
    expect(identity?.objectId.length).toBeLessThanOrEqual(MAX_OBJECT_ID_LENGTH);
    expect(identity?.entityKey.length).toBeLessThanOrEqual(LONGEST_KEY);
  });
});
