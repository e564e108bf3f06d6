/**
 * A model of how the Supervisor validates an add-on's options against config.yaml's `schema`
 * (supervisor/addons/options.py, AddonOptions), so that tests can ask what it lets through to
 * /data/options.json, and with which value, without a Supervisor:
 *
 * - a type is one of `str`, `password`, `int(min,max)`, `float(min,max)`, `bool`, `email`, `url`,
 *   `port`, `match(regex)`, `list(a|b|c)`, `device`, each with an optional trailing `?`
 *   (RE_SCHEMA_ELEMENT); bounds are inclusive and either may be left out;
 * - values are coerced the way voluptuous does: `int` and `port` by Python's int() (so "7" and
 *   7.9 become 7, true becomes 1), `bool` by vol.Boolean ("on", "yes", 1, …), `match` and
 *   `list` compare Python's str() of the value; `str` and `password` take strings only;
 * - `match` uses re.match: anchored at the start only, and `$` also matches before a final
 *   newline;
 * - null is refused for every type; keys missing from a mapping are refused unless their type
 *   ends in `?`; keys the schema does not know are dropped (with a warning);
 * - at the top level the Supervisor first lays the user's options over config.yaml's `options`
 *   (a shallow merge), so a top-level key is never missing when it has a default.
 */

export type ScalarKind =
  "str" | "password" | "int" | "float" | "bool" | "email" | "url" | "port" | "match" | "list";

export interface ScalarType {
  readonly kind: ScalarKind;
  readonly optional: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly members?: readonly string[];
  readonly text: string;
}

export type SchemaNode =
  | ScalarType
  | { readonly kind: "dict"; readonly fields: ReadonlyMap<string, SchemaNode> }
  | { readonly kind: "listOf"; readonly item: SchemaNode };

// RE_SCHEMA_ELEMENT of supervisor/addons/options.py (supervisor/apps/options.py since add-ons became
// apps, which also allows negative int and float bounds), with JavaScript's named groups.
const RE_SCHEMA_ELEMENT = new RegExp(
  "^(?:" +
    "|bool" +
    "|email" +
    "|url" +
    "|port" +
    "|device(?:\\((?<filter>subsystem=[a-z]+)\\))?" +
    "|str(?:\\((?<s_min>\\d+)?,(?<s_max>\\d+)?\\))?" +
    "|password(?:\\((?<p_min>\\d+)?,(?<p_max>\\d+)?\\))?" +
    "|int(?:\\((?<i_min>-?\\d+)?,(?<i_max>-?\\d+)?\\))?" +
    "|float(?:\\((?<f_min>-?\\d*\\.?\\d+)?,(?<f_max>-?\\d*\\.?\\d+)?\\))?" +
    "|match\\((?<match>.*)\\)" +
    "|list\\((?<list>.+)\\)" +
    ")\\??$",
);

/** Parses one scalar type of the Supervisor's schema language; throws on what it would not accept. */
export function parseScalarType(text: string): ScalarType {
  const match = RE_SCHEMA_ELEMENT.exec(text);
  const groups = match?.groups;
  if (match === null || groups === undefined) throw new Error(`"${text}" is not a Supervisor schema type`);
  const optional = text.endsWith("?");
  const bound = (name: string): number | undefined => {
    const value = groups[name];
    return value === undefined || value === "" ? undefined : Number(value);
  };
  const withBounds = (kind: ScalarKind, prefix: string): ScalarType => {
    const min = bound(`${prefix}_min`);
    const max = bound(`${prefix}_max`);
    return {
      kind,
      optional,
      text,
      ...(min === undefined ? {} : { min }),
      ...(max === undefined ? {} : { max }),
    };
  };
  // The Supervisor picks the type by prefix, in this order.
  if (text.startsWith("str")) return withBounds("str", "s");
  if (text.startsWith("password")) return withBounds("password", "p");
  if (text.startsWith("int")) return withBounds("int", "i");
  if (text.startsWith("float")) return withBounds("float", "f");
  if (text.startsWith("bool")) return { kind: "bool", optional, text };
  if (text.startsWith("email")) return { kind: "email", optional, text };
  if (text.startsWith("url")) return { kind: "url", optional, text };
  if (text.startsWith("port")) return { kind: "port", optional, text, min: 1, max: 65_535 };
  if (text.startsWith("match")) return { kind: "match", optional, text, pattern: groups["match"] ?? "" };
  if (text.startsWith("list"))
    return { kind: "list", optional, text, members: (groups["list"] ?? "").split("|") };
  throw new Error(`"${text}": device and empty types are not modelled here`);
}

/** Turns config.yaml's `schema` (or a part of it) into a tree of types. */
export function parseSchemaNode(raw: unknown, where = "schema"): SchemaNode {
  if (typeof raw === "string") return parseScalarType(raw);
  if (Array.isArray(raw)) {
    if (raw.length !== 1) throw new Error(`${where}: a list type holds exactly one element type`);
    const item = parseSchemaNode(raw[0], `${where}[0]`);
    if (item.kind === "listOf") throw new Error(`${where}: a list may not directly contain another list`);
    return { kind: "listOf", item };
  }
  if (typeof raw === "object" && raw !== null) {
    const fields = new Map<string, SchemaNode>();
    for (const [key, value] of Object.entries(raw))
      fields.set(key, parseSchemaNode(value, `${where}.${key}`));
    return { kind: "dict", fields };
  }
  throw new Error(`${where}: ${JSON.stringify(raw)} is not a schema element`);
}

export type Verdict =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly why: string };

const refuse = (why: string): Verdict => ({ ok: false, why });

/** What the Supervisor does with the top-level options a user saved, given config.yaml's defaults. */
export function supervisorValidateOptions(
  schema: SchemaNode,
  defaults: Record<string, unknown>,
  user: Record<string, unknown>,
): Verdict {
  return supervisorValidate(schema, { ...defaults, ...user });
}

/** Validates and coerces one value against a schema node, as AddonOptions._validate_element does. */
export function supervisorValidate(node: SchemaNode, value: unknown): Verdict {
  if (node.kind === "dict") return validateDict(node.fields, value);
  if (node.kind === "listOf") {
    if (!Array.isArray(value)) return refuse("not a list");
    const out: unknown[] = [];
    for (const element of value) {
      const verdict = supervisorValidate(node.item, element);
      if (!verdict.ok) return verdict;
      out.push(verdict.value);
    }
    return { ok: true, value: out };
  }
  return validateScalar(node, value);
}

function validateDict(fields: ReadonlyMap<string, SchemaNode>, value: unknown): Verdict {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return refuse("not a mapping");
  const out: Record<string, unknown> = {};
  for (const [key, element] of Object.entries(value)) {
    const type = fields.get(key);
    if (type === undefined) continue; // dropped with a warning
    const verdict = supervisorValidate(type, element);
    if (!verdict.ok) return refuse(`${key}: ${verdict.why}`);
    out[key] = verdict.value;
  }
  for (const [key, type] of fields) {
    if (key in out) continue;
    const decisive = type.kind === "listOf" ? type.item : type;
    if (decisive.kind === "dict" || decisive.kind === "listOf" || !decisive.optional)
      return refuse(`${key}: missing`);
  }
  return { ok: true, value: out };
}

function validateScalar(type: ScalarType, value: unknown): Verdict {
  if (value === null || value === undefined) return refuse("null");
  switch (type.kind) {
    case "str":
    case "password": {
      // vol.All(str(value), vol.Range(...)): the value must equal its own str(), so only strings pass.
      if (typeof value !== "string") return refuse("not a string");
      if (type.min !== undefined || type.max !== undefined)
        throw new Error(`"${type.text}": the Supervisor compares str bounds as numbers; don't use them`);
      return { ok: true, value };
    }
    case "int":
    case "port": {
      const number = pythonInt(value);
      if (number === undefined) return refuse("not an integer");
      return inRange(type, number);
    }
    case "float": {
      const number = pythonFloat(value);
      if (number === undefined) return refuse("not a number");
      return inRange(type, number);
    }
    case "bool":
      return voluptuousBoolean(value);
    case "email": {
      const text = pythonStr(value);
      return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(text)
        ? { ok: true, value: text }
        : refuse("not an e-mail address");
    }
    case "url": {
      const text = pythonStr(value);
      return /^[a-z][a-z0-9+.-]*:\/\/[^/\s]+/i.test(text) ? { ok: true, value: text } : refuse("not a URL");
    }
    case "match": {
      const text = pythonStr(value);
      return pythonReMatch(type.pattern ?? "", text) ? { ok: true, value: text } : refuse("does not match");
    }
    case "list": {
      const text = pythonStr(value);
      return (type.members ?? []).includes(text) ? { ok: true, value: text } : refuse("not one of the list");
    }
  }
}

function inRange(type: ScalarType, number: number): Verdict {
  if (type.min !== undefined && !(number >= type.min)) return refuse("below the minimum");
  if (type.max !== undefined && !(number <= type.max)) return refuse("above the maximum");
  return { ok: true, value: number };
}

/** Python's int(value), or undefined where it raises. */
function pythonInt(value: unknown): number | undefined {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value === "string" && /^\s*[+-]?\d+(?:_\d+)*\s*$/.test(value))
    return Number(value.replace(/_/g, "").trim());
  return undefined;
}

/** Python's float(value), or undefined where it raises. */
function pythonFloat(value: unknown): number | undefined {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return value;
  if (typeof value !== "string") return undefined;
  const text = value.trim().toLowerCase();
  if (/^[+-]?(?:inf|infinity)$/.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  if (/^[+-]?nan$/.test(text)) return NaN;
  return /^[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:e[+-]?\d+)?$/.test(text)
    ? Number(text.replace(/_/g, ""))
    : undefined;
}

/** voluptuous.Boolean. */
function voluptuousBoolean(value: unknown): Verdict {
  if (typeof value === "string") {
    const text = value.toLowerCase();
    if (["1", "true", "yes", "on", "enable"].includes(text)) return { ok: true, value: true };
    if (["0", "false", "no", "off", "disable"].includes(text)) return { ok: true, value: false };
    return refuse("not a boolean");
  }
  if (typeof value === "number") return { ok: true, value: value !== 0 };
  if (typeof value === "boolean") return { ok: true, value };
  if (Array.isArray(value)) return { ok: true, value: value.length > 0 };
  if (typeof value === "object" && value !== null) return { ok: true, value: Object.keys(value).length > 0 };
  return refuse("not a boolean");
}

/** Python's str() of a value parsed from JSON. */
export function pythonStr(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return String(value);
  if (value === null || value === undefined) return "None";
  return JSON.stringify(value).replace(/"/g, "'");
}

/** re.match(pattern, text): anchored at the start only; a final `$` also matches before a trailing newline. */
export function pythonReMatch(pattern: string, text: string): boolean {
  const regex = new RegExp(pattern, "y");
  if (regex.test(text)) return true;
  regex.lastIndex = 0;
  return pattern.endsWith("$") && text.endsWith("\n") && regex.test(text.slice(0, -1));
}
