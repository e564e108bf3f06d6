import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startAddon, type RunningAddon } from "./app/addon.js";
import { connectionProblem, UNHEALTHY_AFTER_MS } from "./app/health.js";
import { resolveBroker } from "./app/resolve-broker.js";
import { createLogger } from "./logging/logger.js";
import { DEFAULT_CONNECTION_TIMING } from "./mqtt/broker-connection.js";
import { loadOptionsFile } from "./options/load-options-file.js";
import { DEFAULT_HEARTBEAT_PATH, HEARTBEAT_INTERVAL_MS, startHeartbeat } from "./persistence/heartbeat.js";

/** A stop must finish well within the Supervisor's grace period, `offline` published or not. */
const STOP_DEADLINE_MS = 4_000;
const SUPPORT_URL = "https://github.com/mqtt-aggregator/hassio-mqtt-aggregator";

/** The composition root: options, broker, wiring, signals. Only this file touches `process`. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      options: { type: "string", default: "/data/options.json" },
      "data-dir": { type: "string", default: "/data" },
      "heartbeat-file": { type: "string", default: DEFAULT_HEARTBEAT_PATH },
      // Not for users, so not in the README: the tests shorten the waits of a broker outage to
      // seconds. How long offline before asking the Supervisor again, without any PUBACK before
      // reconnecting, offline before reporting unhealthy, and how often the heartbeat is written.
      "refresh-after-ms": { type: "string", default: String(DEFAULT_CONNECTION_TIMING.refreshAfterMs) },
      "ack-timeout-ms": { type: "string", default: String(DEFAULT_CONNECTION_TIMING.ackTimeoutMs) },
      "unhealthy-after-ms": { type: "string", default: String(UNHEALTHY_AFTER_MS) },
      "heartbeat-interval-ms": { type: "string", default: String(HEARTBEAT_INTERVAL_MS) },
    },
  });
  const optionsPath = values.options;
  const dataDir = values["data-dir"];
  const refreshAfterMs = milliseconds(values["refresh-after-ms"], "--refresh-after-ms");
  const ackTimeoutMs = milliseconds(values["ack-timeout-ms"], "--ack-timeout-ms");
  const unhealthyAfterMs = milliseconds(values["unhealthy-after-ms"], "--unhealthy-after-ms");
  const heartbeatIntervalMs = milliseconds(values["heartbeat-interval-ms"], "--heartbeat-interval-ms");
  const version = packageVersion();

  const loaded = await loadOptionsFile(optionsPath);
  if (!loaded.ok) {
    const bootLog = createLogger("info");
    bootLog.error(
      `The options are not valid (${loaded.problems.length} problem${loaded.problems.length === 1 ? "" : "s"}):`,
    );
    for (const problem of loaded.problems) bootLog.error(problem);
    process.exitCode = 1;
    return;
  }
  const { settings } = loaded;
  const log = createLogger(settings.logLevel);
  log.info(
    `MQTT Aggregator ${version} starting with ${settings.rules.length} rule${settings.rules.length === 1 ? "" : "s"}`,
  );

  // Until the add-on runs, the time since start is the time without a broker.
  const startedAt = performance.now();
  let running: RunningAddon | undefined;
  const stopHeartbeat = startHeartbeat({
    path: values["heartbeat-file"],
    intervalMs: heartbeatIntervalMs,
    log,
    problem: () =>
      connectionProblem(running?.offlineForMs() ?? performance.now() - startedAt, unhealthyAfterMs),
  });
  const starting = new AbortController();
  const startup = (async () => {
    const broker = await resolveBroker(
      settings.mqtt,
      { url: process.env["SUPERVISOR_URL"] ?? "http://supervisor", token: process.env["SUPERVISOR_TOKEN"] },
      log,
      starting.signal,
    );
    running = await startAddon({
      settings,
      broker: broker.address,
      brokerSource: broker.source,
      connectionTiming: { refreshAfterMs, ackTimeoutMs },
      dataDir,
      log,
      addon: { version, supportUrl: SUPPORT_URL },
    });
    return running;
  })();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`Received ${signal}; stopping`);
    starting.abort();
    stopHeartbeat();
    const deadline = setTimeout(() => {
      log.warn("Stopping took too long; exiting anyway");
      process.exit(0);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    // A stop during start-up waits for the start to finish or give up, then stops what exists.
    void startup
      .then((addon) => addon.stop())
      .catch(() => undefined)
      .finally(() => {
        log.info("Stopped");
        process.exit(0);
      });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  try {
    await startup;
  } catch (error) {
    if (starting.signal.aborted) return;
    throw error;
  }
}

function milliseconds(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${flag} takes a positive whole number, not ${text}`);
  return value;
}

function packageVersion(): string {
  const text = readFileSync(new URL("../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

await main();
