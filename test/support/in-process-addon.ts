import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAddon, type RunningAddon } from "../../src/app/addon.js";
import { createLogger } from "../../src/logging/logger.js";
import { parseOptions } from "../../src/options/parse-options.js";
import type { TestBroker } from "./brokers.js";

export interface InProcessAddon {
  readonly addon: RunningAddon;
  readonly dataDir: string;
  /** Log lines so far, as the add-on's Log tab would show them. */
  readonly lines: string[];
  stop(): Promise<void>;
}

/** The add-on's own wiring (startAddon) in this process, against a test broker. */
export async function startInProcessAddon(
  broker: TestBroker,
  options: Record<string, unknown>,
  /** A controlled clock for both the monotonic and the wall time; the real ones by default. */
  clock?: { now: () => number; wallNow?: () => number },
  /** An existing data folder, to start again where an earlier run stopped; kept on stop. */
  existingDataDir?: string,
): Promise<InProcessAddon> {
  const parsed = parseOptions(options);
  if (!parsed.ok) throw new Error(`test options are invalid: ${parsed.problems.join("; ")}`);
  const dataDir = existingDataDir ?? (await mkdtemp(join(tmpdir(), "mqtt-aggregator-test-")));
  const lines: string[] = [];
  const log = createLogger(parsed.settings.logLevel, {
    write: (text: string) => lines.push(...text.trimEnd().split("\n")),
  });
  const addon = await startAddon({
    settings: parsed.settings,
    broker: {
      host: broker.host,
      port: broker.port,
      tls: false,
      username: broker.username,
      password: broker.password,
    },
    dataDir,
    log,
    addon: { version: "test", supportUrl: "https://example.invalid" },
    ...(clock === undefined ? {} : { now: clock.now, wallNow: clock.wallNow ?? clock.now }),
  });
  return {
    addon,
    dataDir,
    lines,
    async stop() {
      await addon.stop();
      if (existingDataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resolves once `predicate` holds, polling; rejects with `what` after `timeoutMs`. */
export async function eventually(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
