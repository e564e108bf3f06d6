import { describe, expect, it } from "vitest";
import { asRecord, isRecord, readYamlRecord } from "./repo.js";

const config = readYamlRecord("config.yaml");
const schema = asRecord(config["schema"], "schema");
const translations = readYamlRecord("translations/en.yaml");

/** The mapping of fields a schema entry has, looking through a list of mappings; none for a scalar. */
function nestedFields(entry: unknown): Record<string, unknown> | undefined {
  const inner: unknown = Array.isArray(entry) ? entry[0] : entry;
  return isRecord(inner) ? inner : undefined;
}

/** Every problem of one level of `configuration` against the matching level of `schema`. */
function problems(schemaLevel: Record<string, unknown>, translationLevel: unknown, where: string): string[] {
  if (!isRecord(translationLevel)) return [`${where}: not a mapping`];
  const found: string[] = [];
  for (const key of Object.keys(translationLevel)) {
    if (!(key in schemaLevel)) found.push(`${where}.${key}: not an option`);
  }
  for (const [key, entry] of Object.entries(schemaLevel)) {
    const path = `${where}.${key}`;
    const translation = translationLevel[key];
    if (!isRecord(translation)) {
      found.push(`${path}: missing`);
      continue;
    }
    for (const text of ["name", "description"]) {
      const value = translation[text];
      if (typeof value !== "string" || value.trim() === "") found.push(`${path}.${text}: missing or empty`);
    }
    const unknownKeys = Object.keys(translation).filter(
      (name) => !["name", "description", "fields"].includes(name),
    );
    if (unknownKeys.length > 0) found.push(`${path}: unknown keys ${unknownKeys.join(", ")}`);
    const fields = nestedFields(entry);
    if (fields === undefined) {
      if ("fields" in translation) found.push(`${path}.fields: ${key} has no fields`);
    } else {
      found.push(...problems(fields, translation["fields"], `${path}.fields`));
    }
  }
  return found;
}

/** How the descriptions give an example: "such as Living room", "for example 30", "as in …". */
const EXAMPLE = /\b(such as|for example|as in)\b/i;

describe("translations/en.yaml", () => {
  it("gives every field of a rule an example in its description", () => {
    const configuration = translations["configuration"] as Record<
      string,
      { fields?: Record<string, unknown> }
    >;
    const fields = configuration["rules"]?.fields ?? {};
    const ruleSchema = nestedFields(schema["rules"]) ?? {};
    expect(Object.keys(fields).sort()).toEqual(Object.keys(ruleSchema).sort());
    const withoutExample = Object.entries(fields)
      .filter(
        ([, field]) =>
          !(
            isRecord(field) &&
            typeof field["description"] === "string" &&
            EXAMPLE.test(field["description"])
          ),
      )
      .map(([key]) => key);
    expect(withoutExample).toEqual([]);
  });

  it("names and describes every option, nested fields included, and nothing else", () => {
    expect(problems(schema, translations["configuration"], "configuration")).toEqual([]);
  });

  it("holds only what the Supervisor reads from a translation file", () => {
    // config.yaml maps no ports, so there is nothing for a `network` section to describe.
    expect(Object.keys(translations)).toEqual(["configuration"]);
  });
});
