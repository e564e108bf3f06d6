import type { DerivedValue } from "../core/derived-value.js";
import type { EntityIdentity } from "../core/entity-group.js";

/** An entity's value as last published, and when the read that computed it ran (monotonic). */
export interface PublishedValue {
  readonly value: DerivedValue;
  readonly at: number;
}

export type FeedEvent =
  | { readonly kind: "published"; readonly values: readonly DerivedValue[]; readonly at: number }
  | { readonly kind: "retired"; readonly identities: readonly EntityIdentity[] };

/**
 * The seam between publishing and whoever else shows what was published (the status page): told
 * wherever the publisher is given values, it keeps the latest value of every entity, so that a page
 * opened between reads shows them at once, and tells its listeners. Without listeners it costs one
 * map entry per entity per read, nothing per message.
 */
export class StatusFeed {
  private readonly latest = new Map<string, PublishedValue>();
  private readonly listeners = new Set<(event: FeedEvent) => void>();

  /** Call right after the publisher was given `values`, computed by a read at `at`. */
  published(values: readonly DerivedValue[], at: number): void {
    for (const value of values) this.latest.set(value.identity.entityKey, { value, at });
    this.tell({ kind: "published", values, at });
  }

  /** Call when the publisher retired entities: they no longer exist. */
  retired(identities: readonly EntityIdentity[]): void {
    if (identities.length === 0) return;
    for (const identity of identities) this.latest.delete(identity.entityKey);
    this.tell({ kind: "retired", identities });
  }

  get(entityKey: string): PublishedValue | undefined {
    return this.latest.get(entityKey);
  }

  current(): IterableIterator<PublishedValue> {
    return this.latest.values();
  }

  /** Returns the function that stops listening. */
  listen(listener: (event: FeedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private tell(event: FeedEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
