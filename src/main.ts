import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { parseArgs } from "node:util";
import { connectionProblem, UNHEALTHY_AFTER_MS } from "./app/health.js";
import { DEFAULT_HEARTBEAT_PATH, HEARTBEAT_INTERVAL_MS, startHeartbeat } from "./persistence/heartbeat.js";

/** A stop must finish well within the Supervisor's grace period, `offline` published or not. */
const STOP_DEADLINE_MS = 4_000;
const SUPPORT_URL = "https://github.com/mqtt-aggregator/hassio-mqtt-aggregator";
/** SIGHUP stops too: an add-on has no terminal to lose, and options change only with a restart. */
const STOP_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;
/** The Supervisor's default ingress port, which config.yaml therefore leaves out. */
const STATUS_PORT = 8099;

/** The composition root: options, broker, wiring, signals. Only this file touches `process`. */
async function main(): Promise<void> {
  // First of all, before the modules that take a while to load (MQTT.js, pino, zod: a tenth of a
  // second or more): a stop request at any moment is a stop with exit 0, never a death by a
  // signal that skips saving. What a stop does grows with what has been started.
  let earlyStop: string | undefined;
  let onStopRequest = (signal: string) => {
    earlyStop ??= signal;
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => onStopRequest(signal));
  // The log goes to stdout, whose loss the logger survives; nothing may die of a closed stderr either.
  process.stderr.on("error", () => undefined);

  const { values } = parseArgs({
    options: {
      options: { type: "string", default: "/data/options.json" },
      "data-dir": { type: "string", default: "/data" },
      "heartbeat-file": { type: "string", default: DEFAULT_HEARTBEAT_PATH },
      // Not for users, so not in the README: the tests shorten the waits of a broker outage to
      // seconds. How long offline before asking the Supervisor again, without any PUBACK before
      // reconnecting, offline before reporting unhealthy, and how often the heartbeat is written.
      "refresh-after-ms": { type: "string" },
      "ack-timeout-ms": { type: "string" },
      "unhealthy-after-ms": { type: "string", default: String(UNHEALTHY_AFTER_MS) },
      "heartbeat-interval-ms": { type: "string", default: String(HEARTBEAT_INTERVAL_MS) },
      "status-port": { type: "string" },
    },
  });
  const optionsPath = values.options;
  const dataDir = values["data-dir"];
  const unhealthyAfterMs = milliseconds(values["unhealthy-after-ms"], "--unhealthy-after-ms");
  const heartbeatIntervalMs = milliseconds(values["heartbeat-interval-ms"], "--heartbeat-interval-ms");
  const statusPage = statusListen(values["status-port"], process.env["SUPERVISOR_TOKEN"] !== undefined);
  const version = packageVersion();

  const { createLogger, setLogLevel } = await import("./logging/logger.js");
  // At info until the options say otherwise: their problems, and a stop, are always shown.
  const log = createLogger("info");
  let stopping = false;
  const stopNow = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`Received ${signal}; stopping`);
    log.info("Stopped");
    process.exit(0);
  };
  // Until the options are loaded nothing has started, so there is nothing to save or say goodbye to.
  if (earlyStop !== undefined) stopNow(earlyStop);
  onStopRequest = stopNow;

  const [{ loadOptionsFile }, { resolveBroker }, { startAddon }, { DEFAULT_CONNECTION_TIMING }] =
    await Promise.all([
      import("./options/load-options-file.js"),
      import("./app/resolve-broker.js"),
      import("./app/addon.js"),
      import("./mqtt/broker-connection.js"),
    ]);
  const connectionTiming = {
    refreshAfterMs: milliseconds(
      values["refresh-after-ms"] ?? String(DEFAULT_CONNECTION_TIMING.refreshAfterMs),
      "--refresh-after-ms",
    ),
    ackTimeoutMs: milliseconds(
      values["ack-timeout-ms"] ?? String(DEFAULT_CONNECTION_TIMING.ackTimeoutMs),
      "--ack-timeout-ms",
    ),
  };
  if (statusPage === "invalid") {
    log.error(
      `--status-port must be a port number (0 for any free one) or off, not "${values["status-port"] ?? ""}"`,
    );
    process.exitCode = 1;
    return;
  }
  const loaded = await loadOptionsFile(optionsPath);
  if (!loaded.ok) {
    log.error(
      `The options are not valid (${loaded.problems.length} problem${loaded.problems.length === 1 ? "" : "s"}):`,
    );
    for (const problem of loaded.problems) log.error(problem);
    process.exitCode = 1;
    return;
  }
  const { settings } = loaded;
  setLogLevel(log, settings.logLevel);
  // A data folder that is not there yet (outside Home Assistant, a first run) is made; one that
  // cannot be made is an error now rather than a failing save at every read.
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (error) {
    log.error(
      `Cannot create the data folder ${dataDir}: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exitCode = 1;
    return;
  }
  log.info(
    `MQTT Aggregator ${version} starting with ${settings.rules.length} rule${settings.rules.length === 1 ? "" : "s"}`,
  );

  // Until the add-on runs, the time since start is the time without a broker.
  const startedAt = performance.now();
  let running: { offlineForMs(): number } | undefined;
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
    const addon = await startAddon({
      settings,
      broker: broker.address,
      brokerSource: broker.source,
      connectionTiming,
      dataDir,
      log,
      addon: { version, supportUrl: SUPPORT_URL },
      statusPage,
    });
    running = addon;
    return addon;
  })();

  onStopRequest = (signal: string) => {
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

/**
 * Where the status page listens. In Home Assistant (SUPERVISOR_TOKEN set) on every interface of
 * the add-on's container, where the Supervisor's ingress proxy reaches it; elsewhere on loopback.
 * Either way it answers only the ingress proxy and this machine.
 */
function statusListen(
  given: string | undefined,
  inHomeAssistant: boolean,
): { host: string; port: number } | undefined | "invalid" {
  if (given === "off") return undefined;
  const port = given === undefined ? STATUS_PORT : Number(given);
  if (given !== undefined && (!/^\d+$/.test(given) || port > 65_535)) return "invalid";
  return { host: inHomeAssistant ? "0.0.0.0" : "127.0.0.1", port };
}

function packageVersion(): string {
  const text = readFileSync(new URL("../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

await main();
