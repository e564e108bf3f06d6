/**
 * `npm run demo`: the add-on's main job on an embedded default. An in-process broker, a
 * simulated home, and the add-on itself with example rules, printing what it publishes.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { connectAsync } from "mqtt";
import { startAddon } from "../src/app/addon.js";
import { createLogger } from "../src/logging/logger.js";
import { parseOptions } from "../src/options/parse-options.js";
import { demoOptions } from "./demo-options.js";
import { startEmbeddedBroker } from "./embedded-broker.js";
import { startSimulatedSensors } from "./simulated-sensors.js";
import { watchPublished } from "./watch-published.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    duration: { type: "string" },
    // The status page: a port (0 for any free one) or off.
    "status-port": { type: "string", default: "8099" },
  },
});
const statusPort = values["status-port"];

const broker = await startEmbeddedBroker(Number(values.port));
const url = `mqtt://127.0.0.1:${broker.port}`;
const print = (line: string) => process.stdout.write(`${line}\n`);
print("MQTT Aggregator demo");
print(`  embedded broker (aedes) on ${url}`);
print(
  `  watch it yourself:  mosquitto_sub -h 127.0.0.1 -p ${broker.port} -v -t 'mqtt_aggregator/#' -t 'homeassistant/#'`,
);
print(`  simulated home: Tasmota (one in °F), Zigbee2MQTT, Shelly Gen2 and ESPHome payloads`);
print("  first values in 4 s (changes at once), then every 5 s; Ctrl-C to stop\n");

const parsed = parseOptions(demoOptions);
if (!parsed.ok) throw new Error(`demo options are invalid: ${parsed.problems.join("; ")}`);
const dataDir = await mkdtemp(join(tmpdir(), "mqtt-aggregator-demo-"));

const watcher = await connectAsync(url, { clientId: "demo_watcher" });
await watchPublished(watcher, parsed.settings, print);
const sensors = await connectAsync(url, { clientId: "demo_sensors" });
const stopSensors = startSimulatedSensors(sensors, 1_000);

const addon = await startAddon({
  settings: parsed.settings,
  broker: { host: "127.0.0.1", port: broker.port, tls: false },
  dataDir,
  log: createLogger("info"),
  addon: { version: "demo", supportUrl: "https://github.com/mqtt-aggregator/hassio-mqtt-aggregator" },
  statusPage: statusPort === "off" ? undefined : { host: "127.0.0.1", port: Number(statusPort) },
});
const page = addon.statusPage?.address;
print(
  page === undefined
    ? "\n  status page: off"
    : `\n  status page: http://127.0.0.1:${page.port}/  (open it in a browser on this machine)\n`,
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  stopSensors();
  await addon.stop();
  await sensors.endAsync();
  await watcher.endAsync();
  await broker.close();
  await rm(dataDir, { recursive: true, force: true });
  print("demo stopped");
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
if (values.duration !== undefined) setTimeout(() => void stop(), Number(values.duration) * 1000);
