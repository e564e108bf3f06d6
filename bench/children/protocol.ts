import type { MemoryFigures } from "./process-stats.js";

/** What the parent tells a subscriber child before it connects. */
export interface SubscriberOrders {
  readonly port: number;
  readonly clientId: string;
  /** The add-on's subscriptions (`subscriptionsOf` its rules); the bare subscriber takes the same. */
  readonly subscriptions: readonly string[];
  /** Messages delivered to this subscriber before the measured burst (JIT warm-up, first sight of topics). */
  readonly warmup: number;
  /** Messages of the measured burst delivered to this subscriber. */
  readonly burst: number;
  /** The add-on's options (the add-on subscriber compiles its rules from them). */
  readonly options?: unknown;
  /**
   * Whether the add-on also recomputes and publishes (`update: change` rules), through the real
   * UpdateScheduler and EntityPublisher, to the broker.
   */
  readonly publishing?: boolean;
}

/** A subscriber's figures for the measured burst. */
export interface BurstResult {
  readonly received: number;
  readonly expected: number;
  /** Topics the subscriber holds a value of (map size, or the store's tracked topics). */
  readonly distinctTopics: number;
  /** CPU time (user + system, all threads) from the end of the warm-up to the burst's last message. */
  readonly cpuMicros: number;
  /** Of which in the kernel (system time): socket reads and writes, mostly. */
  readonly systemMicros: number;
  /** From the burst's first message to its last, in milliseconds. */
  readonly elapsedMs: number;
  /** The burst on the monotonic clock CPU profiles use (µs), to keep only its samples. */
  readonly windowMicros: readonly [number, number];
  /** Messages the subscriber published itself from the warm-up's end to the burst's end (entities' states). */
  readonly published: number;
  /** Memory right after connecting and subscribing, before any message. */
  readonly idle: MemoryFigures;
  /** Memory when the burst ended; `peakRssBytes` is the process's high-water mark. */
  readonly end: MemoryFigures;
}

export type ChildMessage =
  | { readonly kind: "ready" }
  | { readonly kind: "warm"; readonly received: number }
  | { readonly kind: "marked" }
  | { readonly kind: "done"; readonly result: BurstResult }
  | { readonly kind: "status"; readonly result: BurstResult };

/**
 * `mark`: the burst's figures start now, not at the warm-up's last message: by then the add-on
 * has published its entities for the first time (their discovery configs and first states),
 * which is start-up work, not the burst's.
 */
export type ParentMessage =
  { readonly kind: "report" } | { readonly kind: "mark" } | { readonly kind: "exit" };

/** A topic outside every rule: the publisher's QoS 1 "all of my burst is at the broker" marker. */
export const SYNC_TOPIC = "bench_control/sync";
