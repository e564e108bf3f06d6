import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Inside the container, outside the data folder: a full or read-only /data must not make the
 * health check fail while the add-on works. The Dockerfile's HEALTHCHECK reads this path.
 */
export const DEFAULT_HEARTBEAT_PATH = "/run/mqtt-aggregator/heartbeat";
export const HEARTBEAT_INTERVAL_MS = 30_000;

export interface HeartbeatLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface HeartbeatOptions {
  readonly path: string;
  readonly intervalMs?: number;
  /** Asked at every beat: why the add-on cannot do its job, or `undefined` while it can. */
  readonly problem: () => string | undefined;
  readonly log: HeartbeatLog;
}

/** The file's first line: `healthy <time>` or `unhealthy <time> <why>`; the HEALTHCHECK wants `healthy`. */
export function heartbeatLine(at: Date, problem: string | undefined): string {
  return problem === undefined
    ? `healthy ${at.toISOString()}\n`
    : `unhealthy ${at.toISOString()} ${problem}\n`;
}

/**
 * Rewrites the heartbeat file while the event loop runs. The image's HEALTHCHECK reads its age
 * and its first word, so a program that hangs, or that runs but cannot reach the broker, is
 * reported unhealthy and the Supervisor's watchdog restarts it. Logs once when the file cannot
 * be written, once when it can again, and once per change between healthy and unhealthy.
 */
export function startHeartbeat(options: HeartbeatOptions): () => void {
  const { path, log } = options;
  let writing = false;
  let failing = false;
  let wasUnhealthy = false;

  const write = async (line: string) => {
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, line);
      if (failing) log.info(`The health-check heartbeat ${path} is written again`);
      failing = false;
    } catch (error) {
      if (!failing) {
        const why = error instanceof Error ? error.message : String(error);
        log.warn(
          `Cannot write the health-check heartbeat ${path} (${why}); the health check will report the add-on unhealthy`,
        );
      }
      failing = true;
    }
  };

  const beat = () => {
    const problem = options.problem();
    if ((problem !== undefined) !== wasUnhealthy) {
      wasUnhealthy = problem !== undefined;
      if (problem !== undefined) {
        log.error(
          `Unhealthy: ${problem}; the health check reports it, so that the Supervisor's watchdog restarts the add-on`,
        );
      } else {
        log.info("Healthy again: the health check reports it");
      }
    }
    // A write that hangs (a stuck file system) is not doubled up.
    if (writing) return;
    writing = true;
    void write(heartbeatLine(new Date(), problem)).finally(() => {
      writing = false;
    });
  };
  beat();
  const timer = setInterval(beat, options.intervalMs ?? HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
