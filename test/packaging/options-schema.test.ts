import { describe, expect, it } from "vitest";
import { z } from "zod";
import { DEVICE_CLASS_NAMES } from "../../src/homeassistant/device-classes.js";
import { mqttOptionsSchema, optionsSchema, ruleOptionsSchema } from "../../src/options/schema.js";
import { asRecord, readYamlRecord } from "./repo.js";
import {
  parseSchemaNode,
  supervisorValidate,
  supervisorValidateOptions,
  type ScalarType,
  type SchemaNode,
  type Verdict,
} from "./supervisor-schema.js";

/**
 * config.yaml's `options`/`schema` (what the Supervisor checks and writes to /data/options.json)
 * against src/options/schema.ts (what the program accepts from that file): the same fields, and
 * for every field the same verdict on the same values.
 */

const config = readYamlRecord("config.yaml");
const defaults = asRecord(config["options"], "options");
const rawSchema = asRecord(config["schema"], "schema");
const schema = dictNode(parseSchemaNode(rawSchema), "schema");
const rawRule = asRecord((rawSchema["rules"] as unknown[])[0], "schema.rules[0]");
const ruleNode = (() => {
  const rules = schema.fields.get("rules");
  if (rules?.kind !== "listOf") throw new Error("schema.rules is not a list");
  return dictNode(rules.item, "schema.rules[0]");
})();
const rawMqtt = asRecord(rawSchema["mqtt"], "schema.mqtt");
const mqttNode = dictNode(schema.fields.get("mqtt"), "schema.mqtt");

type DictNode = Extract<SchemaNode, { kind: "dict" }>;

function dictNode(node: SchemaNode | undefined, where: string): DictNode {
  if (node?.kind !== "dict") throw new Error(`${where} is not a mapping`);
  return node;
}

function scalarFields(node: DictNode): [string, ScalarType][] {
  const fields: [string, ScalarType][] = [];
  for (const [key, type] of node.fields) {
    if (type.kind !== "dict" && type.kind !== "listOf") fields.push([key, type]);
  }
  return fields;
}

/** The options that carry a default in config.yaml's `options`; every other one is optional in `schema`. */
const WITH_DEFAULTS = ["log_level", "mqtt", "rules"];

describe("options and schema", () => {
  it("give defaults only to log_level, rules and mqtt, so that the Configuration tab stays short", () => {
    expect(Object.keys(defaults).sort()).toEqual(WITH_DEFAULTS);
    for (const key of Object.keys(defaults)) expect(rawSchema, key).toHaveProperty(key);
  });

  it("name exactly the fields of the program's schema, nested ones included", () => {
    expect(Object.keys(rawSchema).sort()).toEqual(Object.keys(optionsSchema.shape).sort());
    expect(Object.keys(rawRule).sort()).toEqual(Object.keys(ruleOptionsSchema.shape).sort());
    expect(Object.keys(rawMqtt).sort()).toEqual(Object.keys(mqttOptionsSchema.shape).sort());
  });

  it("make every top-level field with a default required and the others optional", () => {
    for (const [key, type] of scalarFields(schema)) {
      expect(type.optional, key).toBe(!WITH_DEFAULTS.includes(key));
    }
  });

  it("give defaults that the Supervisor and the program both accept", () => {
    expect(supervisorValidate(schema, defaults)).toEqual({ ok: true, value: defaults });
    expect(optionsSchema.safeParse(defaults).success).toBe(true);
  });

  it("give the same defaults as the program's schema, which also has one for every optional option", () => {
    const programDefaults = optionsSchema.parse({});
    expect(programDefaults).toMatchObject(defaults);
    for (const key of Object.keys(rawSchema)) expect(programDefaults, key).toHaveProperty(key);
  });

  it("offer every device class the program takes in the drop-down, and only those", () => {
    const deviceClass = ruleNode.fields.get("device_class");
    expect(deviceClass?.kind).toBe("list");
    expect(deviceClass?.kind === "list" ? deviceClass.members : []).toEqual([...DEVICE_CLASS_NAMES]);
    expect(ruleNode.fields.get("state_class")?.kind).toBe("list");
  });

  it("keep name the first field of a rule, the title of its row in the form", () => {
    expect(Object.keys(rawRule)[0]).toBe("name");
    expect(Object.keys(ruleOptionsSchema.shape)[0]).toBe("name");
  });

  it("take topic as a text, and the program a list as well, which the Supervisor's schema cannot say", () => {
    const list = { ...BASE_RULE, topic: ["a/+", "!a/b"] };
    // Optional for the Supervisor, as function: formula reads no topic; the program requires it for the others.
    expect(ruleNode.fields.get("topic")).toMatchObject({ kind: "str", optional: true });
    expect(supervisorValidate(ruleNode, list).ok).toBe(false);
    expect(ruleOptionsSchema.safeParse(list).success).toBe(true);
  });
});

const MISSING = Symbol("missing");
type Probe = unknown;

/** The members of a zod enum field, optional or defaulted, else none. */
function enumMembers(field: z.ZodType): string[] {
  let inner: unknown = field;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = inner.unwrap();
  return inner instanceof z.ZodEnum ? inner.options.map(String) : [];
}

/** Every value the program's schemas take as an enum member, so each list is probed with all of them. */
const KNOWN_ENUM_VALUES = [optionsSchema, ruleOptionsSchema, mqttOptionsSchema].flatMap((objectSchema) =>
  Object.values(objectSchema.shape).flatMap((field: z.ZodType) => enumMembers(field)),
);

const MATCH_PROBES = [
  "homeassistant",
  "mqtt_aggregator",
  "abc-DEF_09",
  "abc_09",
  "a",
  "9",
  "UPPER",
  "with space",
  "slash/level",
  "plus+",
  "hash#",
  "dot.ted",
  "ümlaut",
  "",
  "valid\n",
  "-",
  "mdi:window-open",
  "mdi:",
  5,
  true,
  [],
];

function probesFor(type: ScalarType): Probe[] {
  switch (type.kind) {
    case "int":
    case "port":
    case "float": {
      const lo = type.min ?? -1000;
      const hi = type.max ?? 1000;
      return [
        lo - 1,
        lo,
        hi,
        hi + 1,
        Math.floor((lo + hi) / 2),
        lo + 0.5,
        hi + 0.5,
        String(lo),
        ` ${hi} `,
        "1e3",
        "abc",
        "",
        true,
        false,
        [],
        {},
      ];
    }
    case "bool":
      return [true, false, "true", "on", "no", "maybe", 1, 0, 2, "", [], {}, [1]];
    case "str":
    case "password":
      return ["x", "Temperature {room}", "a/+/b", "ÄÖÜ €", " padded ", "", "   ", 5, true, [], {}];
    case "match":
      return MATCH_PROBES;
    case "list": {
      const members = type.members ?? [];
      const first = members[0] ?? "";
      return [
        ...new Set([...members, ...KNOWN_ENUM_VALUES]),
        "",
        "nope",
        first.toUpperCase(),
        ` ${first}`,
        5,
        true,
        [],
      ];
    }
    case "email":
    case "url":
      throw new Error(`${type.text}: no probes for this type yet`);
  }
}

/** Where zod may refuse what the Supervisor lets through: values the program could not use anyway. */
function zodMayBeStricter(type: ScalarType, value: Probe): boolean {
  if ((type.kind === "str" || type.kind === "password") && typeof value === "string")
    return value.trim() === "";
  if (type.kind === "match" && typeof value === "string") return value.endsWith("\n");
  return false;
}

interface Outcome {
  readonly supervisor: Verdict;
  readonly zod: boolean;
}

function show(value: Probe): string {
  return value === MISSING ? "(missing)" : JSON.stringify(value);
}

/** Probes one field at a time and lists every value on which the two schemas disagree. */
function disagreements(
  fields: [string, ScalarType][],
  nested: boolean,
  outcome: (key: string, value: Probe) => Outcome,
): string[] {
  const found: string[] = [];
  for (const [key, type] of fields) {
    const values = [...probesFor(type), null, ...(nested ? [MISSING] : [])];
    let accepted = 0;
    for (const value of values) {
      const { supervisor, zod } = outcome(key, value);
      if (supervisor.ok) accepted += 1;
      if (supervisor.ok === zod) continue;
      if (supervisor.ok && zodMayBeStricter(type, value)) continue;
      found.push(
        `${key} = ${show(value)}: the Supervisor ${supervisor.ok ? "accepts" : "refuses"} it, zod does not`,
      );
    }
    // Probes only tell something when they land on both sides.
    if (accepted === 0 || accepted === values.length) found.push(`${key}: the probes all land on one side`);
  }
  return found;
}

function withField(base: Record<string, unknown>, key: string, value: Probe): Record<string, unknown> {
  const copy = Object.fromEntries(Object.entries(base).filter(([name]) => name !== key));
  if (value !== MISSING) copy[key] = value;
  return copy;
}

function zodAccepts(
  schemaToUse: { safeParse(input: unknown): { success: boolean } },
  verdict: Verdict,
  raw: unknown,
) {
  return schemaToUse.safeParse(verdict.ok ? verdict.value : raw).success;
}

const BASE_RULE = { name: "Mean temperature", topic: "sensors/+/temperature", function: "mean" };

describe("the Supervisor's schema and the program's zod schema", () => {
  it("agree on every top-level field", () => {
    const found = disagreements(scalarFields(schema), false, (key, value) => {
      const user = { [key]: value };
      const supervisor = supervisorValidateOptions(schema, defaults, user);
      return { supervisor, zod: zodAccepts(optionsSchema, supervisor, { ...defaults, ...user }) };
    });
    expect(found).toEqual([]);
  });

  it("agree on the shape of rules and mqtt", () => {
    const probes: [string, unknown][] = [
      ["rules", []],
      ["rules", [BASE_RULE]],
      ["rules", [BASE_RULE, { ...BASE_RULE, id: "second" }]],
      ["rules", BASE_RULE],
      ["rules", "x"],
      ["rules", [null]],
      ["rules", [5]],
      ["rules", [[BASE_RULE]]],
      ["rules", null],
      ["mqtt", {}],
      ["mqtt", { host: "broker.local" }],
      ["mqtt", []],
      ["mqtt", "x"],
      ["mqtt", null],
    ];
    for (const [key, value] of probes) {
      const user = { [key]: value };
      const supervisor = supervisorValidateOptions(schema, defaults, user);
      const zod = zodAccepts(optionsSchema, supervisor, { ...defaults, ...user });
      expect({ key, value, zod }).toEqual({ key, value, zod: supervisor.ok });
    }
  });

  it("agree on every field of a rule", () => {
    expect(supervisorValidate(ruleNode, BASE_RULE).ok).toBe(true);
    expect(ruleOptionsSchema.safeParse(BASE_RULE).success).toBe(true);
    const found = disagreements(scalarFields(ruleNode), true, (key, value) => {
      const rule = withField(BASE_RULE, key, value);
      const supervisor = supervisorValidate(ruleNode, rule);
      const zod = zodAccepts(ruleOptionsSchema, supervisor, rule);
      // The same rule inside the whole options, as the program reads them.
      const whole = supervisorValidateOptions(schema, defaults, { rules: [rule] });
      expect(whole.ok, `rules[0].${key} = ${show(value)}`).toBe(supervisor.ok);
      expect(
        zodAccepts(optionsSchema, whole, { ...defaults, rules: [rule] }),
        `rules[0].${key} = ${show(value)}`,
      ).toBe(zod);
      return { supervisor, zod };
    });
    expect(found).toEqual([]);
  });

  it("agree on every field of mqtt", () => {
    const found = disagreements(scalarFields(mqttNode), true, (key, value) => {
      const mqtt = withField({}, key, value);
      const supervisor = supervisorValidate(mqttNode, mqtt);
      const zod = zodAccepts(mqttOptionsSchema, supervisor, mqtt);
      const whole = supervisorValidateOptions(schema, defaults, { mqtt });
      expect(whole.ok, `mqtt.${key} = ${show(value)}`).toBe(supervisor.ok);
      expect(zodAccepts(optionsSchema, whole, { ...defaults, mqtt }), `mqtt.${key} = ${show(value)}`).toBe(
        zod,
      );
      return { supervisor, zod };
    });
    expect(found).toEqual([]);
  });
});
