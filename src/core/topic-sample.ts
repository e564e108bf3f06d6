/**
 * A bounded sample of the topics seen on the broker and their latest payloads, for the status
 * page's rule tester: which topics would a filter match, and what would a value path find there.
 * Bounded in count (the least recently updated topic goes first) and in memory (a payload's
 * beginning only), so that a broker with a million topics cannot grow it.
 */

export const SAMPLED_TOPICS = 5_000;
/** The beginning of a payload kept: enough for any sensor's JSON, not for a camera snapshot. */
export const SAMPLED_PAYLOAD_BYTES = 2_048;
/** Longer topics are not sampled: nobody writes a rule for them, and each would cost its length. */
export const SAMPLED_TOPIC_CHARS = 1_024;

export interface SampledTopic {
  readonly topic: string;
  /** The payload's first SAMPLED_PAYLOAD_BYTES bytes, as text. */
  readonly payload: string;
  /** The whole payload's size: more than SAMPLED_PAYLOAD_BYTES means `payload` is only its beginning. */
  readonly bytes: number;
  /** On the monotonic clock the readings store uses. */
  readonly receivedAt: number;
}

export function isShortened(sampled: SampledTopic): boolean {
  return sampled.bytes > SAMPLED_PAYLOAD_BYTES;
}

export class TopicSample {
  /** In order of update, least recent first: a Map keeps insertion order, and `note` re-inserts. */
  private readonly topics = new Map<string, SampledTopic>();

  constructor(
    /** Topics under these prefixes (the add-on's own output, discovery configs) are not sampled. */
    private readonly ignoredPrefixes: readonly string[] = [],
    private readonly maxTopics = SAMPLED_TOPICS,
  ) {}

  /** `payload` is the payload's beginning (at most SAMPLED_PAYLOAD_BYTES bytes), `bytes` its whole size. */
  note(topic: string, payload: string, bytes: number, now: number): void {
    if (topic.length > SAMPLED_TOPIC_CHARS) return;
    for (const prefix of this.ignoredPrefixes) if (topic.startsWith(prefix)) return;
    this.topics.delete(topic);
    this.topics.set(topic, { topic, payload, bytes, receivedAt: now });
    if (this.topics.size > this.maxTopics) {
      const oldest = this.topics.keys().next();
      if (oldest.done !== true) this.topics.delete(oldest.value);
    }
  }

  get size(): number {
    return this.topics.size;
  }

  get(topic: string): SampledTopic | undefined {
    return this.topics.get(topic);
  }

  /** Least recently updated first. */
  entries(): IterableIterator<SampledTopic> {
    return this.topics.values();
  }

  clear(): void {
    this.topics.clear();
  }
}
