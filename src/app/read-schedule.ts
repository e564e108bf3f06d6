import type { ConfiguredRule } from "../core/rule.js";

/** Rules that share a read interval are read together, on one timer. */
export function readGroups(rules: readonly ConfiguredRule[]): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const rule of rules) {
    const keys = groups.get(rule.intervalMs) ?? [];
    keys.push(rule.key);
    groups.set(rule.intervalMs, keys);
  }
  return groups;
}

/** Runs `read` for each group after `firstDelayMs`, then every group's interval. Returns a stop function. */
export function scheduleReads(
  rules: readonly ConfiguredRule[],
  firstDelayMs: number,
  read: (ruleKeys: readonly string[]) => Promise<void>,
): () => void {
  const timers: NodeJS.Timeout[] = [];
  for (const [intervalMs, keys] of readGroups(rules)) {
    let running = false;
    // A read still publishing when the next is due is not doubled up.
    const tick = () => {
      if (running) return;
      running = true;
      void read(keys).finally(() => {
        running = false;
      });
    };
    timers.push(
      setTimeout(() => {
        tick();
        timers.push(setInterval(tick, intervalMs));
      }, firstDelayMs),
    );
  }
  return () => {
    for (const timer of timers) clearTimeout(timer);
  };
}
