import type { ReadingValue } from "./reading-value.js";
import { extractAtPath, extractWhole, parseJson, type ParsedJson } from "./value-path.js";
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
  private json: ParsedJson = NOT_PARSED;
  private cachedVersion = -1;
  private cachedPath: ValuePath | undefined = undefined;
  private cached: readonly SourceReading[] = NOTHING;

  /**
   * The groups this topic feeds; a topic feeding none is forgotten. `join` replaces the array
   * rather than pushing: a pushed-to array reserves room for many more, and every tracked topic has one.
   */
  groups: EntityGroup[] = [];
  /** The longest `max_age` among those groups' rules: the payload is kept that long. */
  keepForMs = 0;
  /** Dropped by some rule at its source limit while other rules keep it. */
  partial = false;

  constructor(readonly topic: string) {}

  join(group: EntityGroup): void {
    this.groups = this.groups.concat(group);
    this.keepForMs = Math.max(this.keepForMs, group.rule.maxAgeMs);
  }

  leave(group: EntityGroup): void {
    const at = this.groups.indexOf(group);
    if (at >= 0) this.groups.splice(at, 1);
    this.keepForMs = Math.max(0, ...this.groups.map((member) => member.rule.maxAgeMs));
  }

  /**
   * The payload's readings for a rule's value path (or the whole payload without one), each
   * named by its source. The last answer is kept for the rest of the read: most topics are read
   * through one path, so rules sharing it pay for the extraction once.
   */
  readingsFor(path: ValuePath | undefined): readonly SourceReading[] {
    if (this.cachedVersion === this.version && this.cachedPath === path) return this.cached;
    const readings = this.extract(path);
    this.cachedVersion = this.version;
    this.cachedPath = path;
    this.cached = readings;
    return readings;
  }

  /**
   * Drops the parsed JSON and the readings once a read is over: kept until the next one, they
   * would hold an object tree per topic (about 15 MB at 100,000 topics) to save a re-parse only
   * for topics that did not change in between.
   */
  releaseParsed(): void {
    this.json = NOT_PARSED;
    this.jsonVersion = -1;
    this.cached = NOTHING;
    this.cachedVersion = -1;
  }

  /** Releases what a stale reading held; the topic stays known so it can be listed as stale. */
  forgetPayload(): void {
    this.payload = undefined;
    this.releaseParsed();
  }

  private extract(path: ValuePath | undefined): readonly SourceReading[] {
    const payload = this.payload;
    if (payload === undefined) return NOTHING;
    if (typeof payload !== "string") {
      return [
        {
          source: this.topic,
          value: { kind: "unusable", why: `payload of ${payload.bytes} bytes is over the size limit` },
        },
      ];
    }
    if (path === undefined) return [{ source: this.topic, value: extractWhole(payload) }];
    // A plain payload (a Tasmota LWT's "Online", an ESPHome "ON") has no fields, so nothing at
    // the path: under a `#` filter that is normal, not something to warn about.
    if (!looksLikeJsonDocument(payload)) return NOTHING;
    if (this.jsonVersion !== this.version) {
      this.json = parseJson(payload);
      this.jsonVersion = this.version;
    }
    if (!this.json.ok) return [{ source: this.topic, value: { kind: "unusable", why: "invalid JSON" } }];
    return extractAtPath(this.json.json, path).map(({ key, value }) => ({
      source: key === undefined ? this.topic : `${this.topic}#${key}`,
      value,
    }));
  }
}

/** One reading of a topic: the topic itself, or `topic#key` where a `*` found several. */
export interface SourceReading {
  readonly source: string;
  readonly value: ReadingValue;
}

const NOTHING: readonly SourceReading[] = Object.freeze([]);
/** Shared by every topic whose payload is not parsed: one object per tracked topic adds up. */
const NOT_PARSED: ParsedJson = Object.freeze({ ok: false });

function looksLikeJsonDocument(payload: string): boolean {
  const first = payload.trimStart().charAt(0);
  return first === "{" || first === "[";
}
