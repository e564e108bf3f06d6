import {
  extractAtPath,
  extractWhole,
  parseJson,
  type ExtractedReading,
  type ParsedJson,
} from "./value-path.js";
import type { ValuePath } from "./value-path.js";
import type { EntityGroup } from "./entity-group.js";

/** What `ingest` keeps of a payload over the size limit: only that it was too large. */
export interface OversizedPayload {
  readonly bytes: number;
}

/**
 * The latest payload of one topic, shared by every entity group it feeds. The message path only
 * overwrites these fields; parsing waits until a read time needs the value, and then happens once
 * per payload however many rules read it.
 */
export class SourceTopic {
  payload: string | OversizedPayload | undefined = undefined;
  receivedAt = 0;
  /** Bumped on every message, so parse caches and ignore counters know a payload is new. */
  version = 0;
  private jsonVersion = -1;
  private json: ParsedJson = { ok: false };

  /** The groups this topic feeds; a topic feeding none is forgotten. */
  readonly groups: EntityGroup[] = [];
  /** The longest `max_age` among those groups' rules: the payload is kept that long. */
  keepForMs = 0;

  constructor(readonly topic: string) {}

  join(group: EntityGroup): void {
    this.groups.push(group);
    this.keepForMs = Math.max(this.keepForMs, group.rule.maxAgeMs);
  }

  leave(group: EntityGroup): void {
    const at = this.groups.indexOf(group);
    if (at >= 0) this.groups.splice(at, 1);
    this.keepForMs = Math.max(0, ...this.groups.map((member) => member.rule.maxAgeMs));
  }

  /** The payload's readings for a rule's value path (or the whole payload without one). */
  readingsFor(path: ValuePath | undefined): readonly ExtractedReading[] {
    const payload = this.payload;
    if (payload === undefined) return [];
    if (typeof payload !== "string") {
      return [
        {
          key: undefined,
          value: { kind: "unusable", why: `payload of ${payload.bytes} bytes is over the size limit` },
        },
      ];
    }
    if (path === undefined) return [{ key: undefined, value: extractWhole(payload) }];
    // A plain payload (a Tasmota LWT's "Online", an ESPHome "ON") has no fields, so nothing at
    // the path: under a `#` filter that is normal, not something to warn about.
    if (!looksLikeJsonDocument(payload)) return NOTHING;
    if (this.jsonVersion !== this.version) {
      this.json = parseJson(payload);
      this.jsonVersion = this.version;
    }
    if (!this.json.ok) return [{ key: undefined, value: { kind: "unusable", why: "invalid JSON" } }];
    return extractAtPath(this.json.json, path);
  }

  /** Releases what a stale reading held; the topic stays known so it can be listed as stale. */
  forgetPayload(): void {
    this.payload = undefined;
    this.json = { ok: false };
    this.jsonVersion = -1;
  }
}

const NOTHING: readonly ExtractedReading[] = Object.freeze([]);

function looksLikeJsonDocument(payload: string): boolean {
  const first = payload.trimStart().charAt(0);
  return first === "{" || first === "[";
}
