import type { ServerResponse } from "node:http";
import type { LiveView } from "./live-view.js";

/** At most two pushes a second, however often entities are published: a phone keeps up. */
export const PUSH_INTERVAL_MS = 500;
/** A message at least this often, so that a page behind a buffering proxy notices and polls instead. */
const TICK_INTERVAL_MS = 10_000;
/** A page that does not read what it is sent is dropped beyond this; it reconnects and starts afresh. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

interface Client {
  readonly response: ServerResponse;
  seq: number;
}

/**
 * Server-sent events to the open pages: a snapshot when one connects, then what changed, at most
 * every PUSH_INTERVAL_MS. Nothing runs while no page is connected.
 */
export class LiveStream {
  private readonly clients = new Set<Client>();
  private pushTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private lastPushAt = Number.NEGATIVE_INFINITY;
  private readonly stopWatching: () => void;

  constructor(
    private readonly view: LiveView,
    private readonly now: () => number,
  ) {
    this.stopWatching = view.onChange(() => this.schedule());
  }

  get connected(): number {
    return this.clients.size;
  }

  open(response: ServerResponse): void {
    response.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      // no-transform and X-Accel-Buffering: proxies must pass each event on as it comes.
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
      Connection: "keep-alive",
    });
    const snapshot = this.view.snapshot(this.now());
    const client: Client = { response, seq: snapshot.seq };
    this.clients.add(client);
    response.once("close", () => {
      this.clients.delete(client);
      if (this.clients.size === 0) this.idle();
    });
    response.write("retry: 3000\n\n");
    this.send(client, "snapshot", snapshot);
    this.tickTimer ??= setInterval(() => {
      for (const each of this.clients) this.send(each, "tick", { now: this.now() });
    }, TICK_INTERVAL_MS);
  }

  stop(): void {
    this.stopWatching();
    for (const client of this.clients) client.response.end();
    this.clients.clear();
    this.idle();
  }

  private schedule(): void {
    if (this.clients.size === 0 || this.pushTimer !== undefined) return;
    const wait = Math.max(0, this.lastPushAt + PUSH_INTERVAL_MS - Date.now());
    this.pushTimer = setTimeout(() => this.push(), wait);
  }

  private push(): void {
    this.pushTimer = undefined;
    this.lastPushAt = Date.now();
    const now = this.now();
    // Pages that saw the same changes (all of them, usually) share one message, built once.
    const messages = new Map<number, { seq: number; text: string } | undefined>();
    for (const client of this.clients) {
      if (!messages.has(client.seq)) messages.set(client.seq, this.message(client.seq, now));
      const message = messages.get(client.seq);
      if (message === undefined) continue;
      client.seq = message.seq;
      this.write(client, message.text);
    }
  }

  /** What a page that saw changes up to `seq` is sent; undefined when nothing changed. */
  private message(seq: number, now: number): { seq: number; text: string } | undefined {
    const update = this.view.changesSince(seq, now);
    // Too far behind to say what changed: it starts afresh.
    if (update === undefined) {
      const snapshot = this.view.snapshot(now);
      return { seq: snapshot.seq, text: event("snapshot", snapshot) };
    }
    if (update.entities.length === 0 && update.removed.length === 0) return undefined;
    return { seq: update.seq, text: event("update", update) };
  }

  private send(client: Client, name: string, data: unknown): void {
    this.write(client, event(name, data));
  }

  private write(client: Client, text: string): void {
    const { response } = client;
    if (response.writableLength > MAX_BUFFERED_BYTES) {
      response.destroy();
      return;
    }
    response.write(text);
  }

  private idle(): void {
    clearTimeout(this.pushTimer);
    this.pushTimer = undefined;
    clearInterval(this.tickTimer);
    this.tickTimer = undefined;
  }
}

/** JSON has no line breaks of its own, so one data line holds the whole message. */
function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
