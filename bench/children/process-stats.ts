import { readFileSync } from "node:fs";

/** What a child process measures of itself, in the units the report uses. */
export interface MemoryFigures {
  /** Resident set size now, in bytes. */
  readonly rssBytes: number;
  /** Peak resident set size of the process so far (VmHWM, or getrusage's maxrss), in bytes. */
  readonly peakRssBytes: number;
  readonly heapUsedBytes: number;
}

function statusField(status: string, field: string): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
}

export function memoryFigures(): MemoryFigures {
  let status = "";
  try {
    status = readFileSync("/proc/self/status", "utf8");
  } catch {
    // Not Linux: getrusage and memoryUsage still answer.
  }
  const usage = process.memoryUsage();
  return {
    rssBytes: statusField(status, "VmRSS") ?? usage.rss,
    peakRssBytes: statusField(status, "VmHWM") ?? process.resourceUsage().maxRSS * 1024,
    heapUsedBytes: usage.heapUsed,
  };
}

/** Forces full collections when the child runs with --expose-gc, so "holding" figures are steady. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return;
  for (let round = 0; round < 3; round += 1) gc();
}

/** Sends to the parent over IPC; a child started without IPC just prints. */
export function tellParent(message: unknown): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) {
      process.stdout.write(`${JSON.stringify(message)}\n`);
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => {
      resolve();
    });
  });
}

/** The first IPC message from the parent: what to do. */
export function orders<T>(): Promise<T> {
  return new Promise((resolve) => {
    process.once("message", (message) => {
      resolve(message as T);
    });
  });
}

/**
 * A topic as MQTT.js hands it over: decoded from the packet's bytes into one flat string. A
 * topic built with a template literal is a tree of string pieces that would hold more memory.
 */
export function asReceived(topic: string): string {
  return Buffer.from(topic).toString("utf8");
}
