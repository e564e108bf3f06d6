import { fork, type ChildProcess } from "node:child_process";

/**
 * A bench child: a compiled script run by plain `node` (never the parent's tsx loader flags),
 * with IPC, and its messages waited for one by one.
 */
export class BenchChild<Message> {
  private readonly process: ChildProcess;
  private readonly inbox: Message[] = [];
  private wake: (() => void) | undefined;
  private exitedWith: string | undefined;

  constructor(
    readonly name: string,
    /** The compiled JavaScript to run. */
    script: string,
    execArgv: readonly string[] = [],
  ) {
    this.process = fork(script, [], {
      execArgv: [...execArgv],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.process.on("message", (message) => {
      this.inbox.push(message as Message);
      this.wake?.();
    });
    this.process.once("exit", (code, signal) => {
      this.exitedWith = signal ?? String(code);
      this.wake?.();
    });
    live.add(this.process);
    this.process.once("exit", () => live.delete(this.process));
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  send(message: unknown): void {
    this.process.send(message as object);
  }

  /** The next message satisfying `accept`, earlier others being dropped; rejects on timeout or exit. */
  async next<T extends Message>(accept: (message: Message) => message is T, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const message = this.inbox.shift();
      if (message !== undefined) {
        if (accept(message)) return message;
        continue;
      }
      if (this.exitedWith !== undefined) throw new Error(`${this.name} exited (${this.exitedWith})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`${this.name}: nothing after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  pause(): void {
    this.process.kill("SIGSTOP");
  }

  resume(): void {
    this.process.kill("SIGCONT");
  }

  /** Asks the child to leave, then kills it if it does not within 10 s (a --cpu-prof child writes its profile on the way out). */
  async stop(order: unknown = { kind: "exit" }): Promise<void> {
    if (this.exitedWith !== undefined) return;
    const exited = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
    this.process.kill("SIGCONT");
    if (this.process.connected) this.process.send(order as object);
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export class TimeoutError extends Error {}

/** Children still running when the bench exits (an error, Ctrl-C) are killed with it. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});
