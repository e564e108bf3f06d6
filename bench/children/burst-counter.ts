import { memoryFigures, tellParent, type MemoryFigures } from "./process-stats.js";
import type { BurstResult, ChildMessage, ParentMessage, SubscriberOrders } from "./protocol.js";

/**
 * Counts arrivals in a subscriber child and measures the burst: the same few operations per
 * message for the bare subscriber and the add-on, so the bench adds the same cost to both.
 */
export class BurstCounter {
  private received = 0;
  private readonly total: number;
  private cpuAtWarm: NodeJS.CpuUsage = process.cpuUsage();
  private firstAt = 0;
  private lastAt = 0;
  private warmAtMicros = 0;
  private doneAtMicros = 0;
  private idle: MemoryFigures | undefined;

  private publishedAtWarm = 0;
  private publishedAtDone: number | undefined;

  constructor(
    private readonly orders: SubscriberOrders,
    private readonly distinctTopics: () => number,
    /** Messages the subscriber has published so far (the add-on's entities); none for the others. */
    private readonly published: () => number = () => 0,
  ) {
    this.total = orders.warmup + orders.burst;
    process.on("message", (message: ParentMessage) => {
      if (message.kind === "report") void send({ kind: "status", result: this.result() });
      if (message.kind === "mark") {
        this.startFigures();
        void send({ kind: "marked" });
      }
    });
  }

  /** Called by the subscriber once connected and subscribed. */
  ready(): void {
    this.idle = memoryFigures();
    this.cpuAtWarm = process.cpuUsage();
    this.warmAtMicros = monotonicMicros();
    void send({ kind: "ready" });
  }

  /** The per-message part: an increment and a comparison in the common case. */
  arrived(): void {
    const received = ++this.received;
    if (received <= this.orders.warmup) {
      if (received === this.orders.warmup) this.warm();
      return;
    }
    if (received === this.orders.warmup + 1) this.firstAt = performance.now();
    if (received === this.total) this.done();
  }

  private warm(): void {
    this.startFigures();
    void send({ kind: "warm", received: this.received });
  }

  private startFigures(): void {
    this.publishedAtWarm = this.published();
    this.cpuAtWarm = process.cpuUsage();
    this.warmAtMicros = monotonicMicros();
  }

  private done(): void {
    this.publishedAtDone = this.published();
    this.lastAt = performance.now();
    this.doneAtMicros = monotonicMicros();
    void send({ kind: "done", result: this.result() });
  }

  private result(): BurstResult {
    const cpu = process.cpuUsage(this.cpuAtWarm);
    const end = memoryFigures();
    const lastAt = this.received >= this.total ? this.lastAt : performance.now();
    return {
      received: Math.max(0, this.received - this.orders.warmup),
      expected: this.orders.burst,
      distinctTopics: this.distinctTopics(),
      published: (this.publishedAtDone ?? this.published()) - this.publishedAtWarm,
      cpuMicros: cpu.user + cpu.system,
      systemMicros: cpu.system,
      elapsedMs: this.firstAt === 0 ? 0 : lastAt - this.firstAt,
      windowMicros: [this.warmAtMicros, this.doneAtMicros === 0 ? monotonicMicros() : this.doneAtMicros],
      idle: this.idle ?? end,
      end,
    };
  }
}

function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function send(message: ChildMessage): Promise<void> {
  return tellParent(message);
}

/** Ends the child when the parent says so (or goes away). */
export function exitOnOrder(close: () => Promise<void>): void {
  const leave = () => {
    void close()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  };
  process.on("message", (message: ParentMessage) => {
    if (message.kind === "exit") leave();
  });
  process.on("disconnect", leave);
}
