import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startAddon } from "./app/addon.js";
import { resolveBroker } from "./app/resolve-broker.js";
import { createLogger } from "./logging/logger.js";
import { loadOptionsFile } from "./options/load-options-file.js";
import { startHeartbeat } from "./persistence/heartbeat.js";

/** A stop must finish well within the Supervisor's grace period, `offline` published or not. */
const STOP_DEADLINE_MS = 4_000;
const SUPPORT_URL = "https://github.com/mqtt-aggregator/hassio-mqtt-aggregator";

/** The composition root: options, broker, wiring, signals. Only this file touches `process`. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      options: { type: "string", default: "/data/options.json" },
      "data-dir": { type: "string", default: "/data" },
    },
  });
  const optionsPath = values.options;
  const dataDir = values["data-dir"];
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

  const stopHeartbeat = startHeartbeat(dataDir);
  const starting = new AbortController();
  const startup = (async () => {
    const broker = await resolveBroker(
      settings.mqtt,
      { url: process.env["SUPERVISOR_URL"] ?? "http://supervisor", token: process.env["SUPERVISOR_TOKEN"] },
      log,
      starting.signal,
    );
    return startAddon({ settings, broker, dataDir, log, addon: { version, supportUrl: SUPPORT_URL } });
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

function packageVersion(): string {
  const text = readFileSync(new URL("../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

await main();
