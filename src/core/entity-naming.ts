/**
 * Names and keys of derived entities. Keys end up in MQTT topics and Home Assistant ids, so
 * they hold only `[a-z0-9_]`, whatever a topic or a captured wildcard contained.
 */

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

/** The name template with each `{capture}` replaced by its value. */
export function renderName(
  template: string,
  captureNames: readonly string[],
  captures: readonly string[],
): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
    const index = captureNames.indexOf(name);
    return index >= 0 ? (captures[index] ?? "") : whole;
  });
}

/** Placeholders a name template uses. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1] ?? "");
}

/** The key a rule is known by: stable while its `id` (or, without one, its name) stays the same. */
export function ruleKey(id: string | undefined, nameTemplate: string): string {
  const base = id ?? nameTemplate.replace(/[{}]/g, "");
  const slug = slugify(base);
  return slug === "" ? `rule_${shortHash(base)}` : slug;
}

/**
 * Separates a rule's key from the part naming one fanned-out entity. Slugs never hold two
 * underscores in a row, so the rule a published entity belongs to can be read back from its key.
 */
export const GROUP_SEPARATOR = "__";

export function groupSlug(captures: readonly string[]): string {
  const joined = captures.join(" ");
  const slug = slugify(joined);
  return slug === "" ? `x${shortHash(joined)}` : slug;
}

export function ruleKeyOfEntity(entityKey: string): string {
  const at = entityKey.indexOf(GROUP_SEPARATOR);
  return at < 0 ? entityKey : entityKey.slice(0, at);
}
