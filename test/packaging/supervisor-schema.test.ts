import { describe, expect, it } from "vitest";
import {
  parseScalarType,
  parseSchemaNode,
  supervisorValidate,
  supervisorValidateOptions,
} from "./supervisor-schema.js";

// The model the other packaging tests lean on, held to what the Supervisor's code does.
describe("the Supervisor schema model", () => {
  const check = (type: string, value: unknown) => supervisorValidate(parseScalarType(type), value);

  it("parses every scalar form the add-on uses", () => {
    expect(parseScalarType("int(0,3600)")).toMatchObject({ kind: "int", min: 0, max: 3600, optional: false });
    expect(parseScalarType("int(1,)?")).toMatchObject({ kind: "int", min: 1, optional: true });
    expect(parseScalarType("int")).not.toHaveProperty("min");
    expect(parseScalarType("int(-5,5)")).toMatchObject({ kind: "int", min: -5, max: 5 });
    expect(parseScalarType("port?")).toMatchObject({ kind: "port", min: 1, max: 65_535, optional: true });
    expect(parseScalarType("match(^[a-z0-9_]+$)?")).toMatchObject({
      kind: "match",
      pattern: "^[a-z0-9_]+$",
      optional: true,
    });
    expect(parseScalarType("list(a|b|c)")).toMatchObject({ kind: "list", members: ["a", "b", "c"] });
    expect(parseScalarType("password?")).toMatchObject({ kind: "password", optional: true });
    expect(parseScalarType("float(0.5,2)")).toMatchObject({ kind: "float", min: 0.5, max: 2 });
    expect(parseScalarType("bool")).toMatchObject({ kind: "bool", optional: false });
  });

  it("refuses what the Supervisor would not load", () => {
    expect(() => parseScalarType("integer")).toThrow();
    expect(() => parseScalarType("int(a,5)")).toThrow();
    expect(() => parseScalarType("str??")).toThrow();
    expect(() => parseSchemaNode([["str"]])).toThrow();
  });

  it("coerces and bounds integers like vol.Coerce(int) and vol.Range", () => {
    expect(check("int(0,10)", 10)).toEqual({ ok: true, value: 10 });
    expect(check("int(0,10)", 11).ok).toBe(false);
    expect(check("int(0,10)", -1).ok).toBe(false);
    expect(check("int(0,10)", "7")).toEqual({ ok: true, value: 7 });
    expect(check("int(0,10)", 7.9)).toEqual({ ok: true, value: 7 });
    expect(check("int(0,10)", true)).toEqual({ ok: true, value: 1 });
    expect(check("int(0,10)", "7.5").ok).toBe(false);
    expect(check("int(0,10)", null).ok).toBe(false);
    expect(check("port", 0).ok).toBe(false);
    expect(check("port", 65_536).ok).toBe(false);
  });

  it("takes only strings for str and compares str() for match and list", () => {
    expect(check("str", "").ok).toBe(true);
    expect(check("str", 5).ok).toBe(false);
    expect(check("match(^[0-9]+$)", 5)).toEqual({ ok: true, value: "5" });
    expect(check("match(^[a-z]+$)", "abc\n").ok).toBe(true);
    expect(check("match(^[a-z]+)", "abc!").ok).toBe(true);
    expect(check("list(True|x)", true)).toEqual({ ok: true, value: "True" });
  });

  it("reads booleans like vol.Boolean", () => {
    expect(check("bool", "on")).toEqual({ ok: true, value: true });
    expect(check("bool", "disable")).toEqual({ ok: true, value: false });
    expect(check("bool", 0)).toEqual({ ok: true, value: false });
    expect(check("bool", "maybe").ok).toBe(false);
  });

  it("drops unknown keys, refuses missing required ones and merges top-level defaults", () => {
    const schema = parseSchemaNode({ a: "int", b: "str?", nested: { c: "str" }, items: [{ d: "str" }] });
    expect(supervisorValidate(schema, { a: 1, nested: { c: "x" }, items: [], extra: 1 })).toEqual({
      ok: true,
      value: { a: 1, nested: { c: "x" }, items: [] },
    });
    expect(supervisorValidate(schema, { nested: { c: "x" }, items: [] }).ok).toBe(false);
    expect(supervisorValidate(schema, { a: 1, items: [] }).ok).toBe(false);
    expect(supervisorValidate(schema, { a: 1, nested: {}, items: [] }).ok).toBe(false);
    expect(supervisorValidate(schema, { a: 1, nested: { c: "x" }, items: [{}] }).ok).toBe(false);
    expect(supervisorValidateOptions(schema, { a: 1, nested: { c: "x" }, items: [] }, {}).ok).toBe(true);
  });
});
