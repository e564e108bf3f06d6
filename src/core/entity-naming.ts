/**
 * Names and keys of derived entities. Keys end up in MQTT topics and Home Assistant ids, so
 * they hold only `[a-z0-9_]`, whatever a topic or a captured wildcard contained.
 */

/**
 * What a name or a captured value may make of topics and ids. MQTT topics hold up to 65,535 bytes
 * and a device's topic may spend nearly all of them on one level; Home Assistant refuses entity
 * ids over 255 characters. Keys and object ids are ASCII, so their characters are bytes.
 */
/** Rule names and ids are refused beyond this (options), and rule keys are cut to it. */
export const MAX_RULE_NAME_LENGTH = 255;
/** Of a captured value, what an entity's name shows and its key keeps (of the slug, plus a hash). */
export const MAX_CAPTURE_LENGTH = 128;
/** `binary_sensor.` and this many characters make Home Assistant's longest entity id, 255. */
export const MAX_OBJECT_ID_LENGTH = 241;

/** Lower-case ASCII letters, digits and single underscores; accents are folded, the rest dropped. */
export function slugify(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
}

/** A short, deterministic tag for text whose slug is empty or collides with another. */
export function shortHash(text: string): string {
  // FNV-1a, 32 bits: stable across runs and platforms, which unique ids need.
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/**
 * A slug cut to `maxLength` when it is longer, ending in a hash of the whole text it came from,
 * so that two long values sharing a beginning keep apart, and a value keeps its key across runs.
 */
export function boundedSlug(slug: string, maxLength: number, text: string): string {
  if (slug.length <= maxLength) return slug;
  const hash = shortHash(text);
  // No trailing "_" before the hash's: slugs never hold "__", which separates a rule's key.
  return `${slug.slice(0, maxLength - hash.length - 1).replace(/_+$/, "")}_${hash}`;
}

/** The name template with each `{capture}` replaced by its value, cut to `maxCaptureLength`. */
export function renderName(
  template: string,
  captureNames: readonly string[],
  captures: readonly string[],
  maxCaptureLength = Number.POSITIVE_INFINITY,
): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
    const index = captureNames.indexOf(name);
    return index >= 0 ? clip(captures[index] ?? "", maxCaptureLength) : whole;
  });
}

/** The first `maxLength` characters (code points, so no emoji is cut in half), then "…". */
function clip(text: string, maxLength: number): string {
  // UTF-16 length is at least the count of code points: most values need no counting.
  if (text.length <= maxLength) return text;
  let kept = "";
  let count = 0;
  for (const point of text) {
    if (count === maxLength) return `${kept}…`;
    kept += point;
    count += 1;
  }
  return text;
}

/** Placeholders a name template uses. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1] ?? "");
}

/** The key a rule is known by: stable while its `id` (or, without one, its name) stays the same. */
export function ruleKey(id: string | undefined, nameTemplate: string): string {
  const base = id ?? nameTemplate.replace(/[{}]/g, "");
  const slug = slugify(base);
  // Names and ids are at most MAX_RULE_NAME_LENGTH long, but accents may unfold into more letters.
  return slug === "" ? `rule_${shortHash(base)}` : boundedSlug(slug, MAX_RULE_NAME_LENGTH, base);
}

/**
 * Separates a rule's key from the part naming one fanned-out entity. Slugs never hold two
 * underscores in a row, so the rule a published entity belongs to can be read back from its key.
 */
export const GROUP_SEPARATOR = "__";

export function groupSlug(captures: readonly string[]): string {
  const joined = captures.join(" ");
  const slug = slugify(joined);
  return slug === "" ? `x${shortHash(joined)}` : boundedSlug(slug, MAX_CAPTURE_LENGTH, joined);
}

export function ruleKeyOfEntity(entityKey: string): string {
  const at = entityKey.indexOf(GROUP_SEPARATOR);
  return at < 0 ? entityKey : entityKey.slice(0, at);
}
