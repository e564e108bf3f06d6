import type { TopicFilter } from "./topic-filter.js";

/** One filter that matched a topic, with the values of its named wildcards in the filter's name order. */
export interface TopicMatch<T> {
  readonly target: T;
  readonly captures: readonly string[];
  /** The filter names the topic's last level literally (`tele/+/LWT`), not through a wildcard. */
  readonly literalLast: boolean;
}

interface Entry<T> {
  readonly target: T;
  /** For each level index of the filter, the position of its named capture (or -1). */
  readonly capturePositions: readonly number[];
  readonly captureCount: number;
  readonly literalLast: boolean;
}

class TrieNode<T> {
  readonly literals = new Map<string, TrieNode<T>>();
  single: TrieNode<T> | undefined;
  /** Filters ending in `#` at this node: they match this level and everything below. */
  readonly multi: Entry<T>[] = [];
  /** Filters ending exactly here. */
  readonly exact: Entry<T>[] = [];
}

/**
 * Matches a topic against many filters at once, walking a trie of filter levels, so the
 * cost grows with the topic's depth and the number of wildcards, not with the number of rules.
 */
export class TopicMatcher<T> {
  private readonly root = new TrieNode<T>();
  private filterCount = 0;

  add(filter: TopicFilter, target: T): void {
    let node = this.root;
    const capturePositions: number[] = [];
    let captureCount = 0;
    const literalLast = filter.levels.at(-1)?.kind === "literal";
    for (const level of filter.levels) {
      if (level.kind === "multi") {
        node.multi.push({ target, capturePositions, captureCount, literalLast });
        this.filterCount += 1;
        return;
      }
      if (level.kind === "single") {
        capturePositions.push(level.captureName === undefined ? -1 : captureCount++);
        node.single ??= new TrieNode<T>();
        node = node.single;
      } else {
        capturePositions.push(-1);
        let next = node.literals.get(level.text);
        if (next === undefined) {
          next = new TrieNode<T>();
          node.literals.set(level.text, next);
        }
        node = next;
      }
    }
    node.exact.push({ target, capturePositions, captureCount, literalLast });
    this.filterCount += 1;
  }

  get size(): number {
    return this.filterCount;
  }

  /** Every filter matching `topic`, as MQTT defines matching (including `#` matching the parent level). */
  match(topic: string): TopicMatch<T>[] {
    const levels = topic.split("/");
    const found: TopicMatch<T>[] = [];
    // Filters starting with a wildcard must not match topics starting with "$" (MQTT 4.7.2).
    const dollar = topic.startsWith("$");
    this.walk(this.root, levels, 0, dollar, found);
    return found;
  }

  private walk(
    node: TrieNode<T>,
    levels: readonly string[],
    depth: number,
    dollar: boolean,
    found: TopicMatch<T>[],
  ) {
    const wildcardAllowed = !(dollar && depth === 0);
    if (wildcardAllowed) {
      for (const entry of node.multi) found.push(toMatch(entry, levels));
    }
    if (depth === levels.length) {
      for (const entry of node.exact) found.push(toMatch(entry, levels));
      return;
    }
    const level = levels[depth] ?? "";
    const literal = node.literals.get(level);
    if (literal !== undefined) this.walk(literal, levels, depth + 1, dollar, found);
    if (wildcardAllowed && node.single !== undefined)
      this.walk(node.single, levels, depth + 1, dollar, found);
  }
}

function toMatch<T>(entry: Entry<T>, levels: readonly string[]): TopicMatch<T> {
  const literalLast = entry.literalLast;
  if (entry.captureCount === 0) return { target: entry.target, captures: NO_CAPTURES, literalLast };
  const captures = new Array<string>(entry.captureCount);
  entry.capturePositions.forEach((position, levelIndex) => {
    if (position >= 0) captures[position] = levels[levelIndex] ?? "";
  });
  return { target: entry.target, captures, literalLast };
}

const NO_CAPTURES: readonly string[] = Object.freeze([]);
