/**
 * (a) The limit: a bare MQTT.js subscriber that keeps each topic's latest payload in a Map and
 * does nothing else. Same protocol version, subscriptions and MQTT.js settings as the add-on,
 * including its no-op `log` (MQTT.js's default per-packet `debug` tracing costs ~10% of a message):
 * the ratio then measures what the add-on adds, not what it configures better.
 */
import mqtt from "mqtt";
import { BurstCounter, exitOnOrder } from "./burst-counter.js";
import { orders } from "./process-stats.js";
import type { SubscriberOrders } from "./protocol.js";

const given = await orders<SubscriberOrders>();
const latest = new Map<string, string>();
const counter = new BurstCounter(given, () => latest.size);

const client = mqtt.connect({
  host: "127.0.0.1",
  port: given.port,
  // The add-on connects with MQTT 5 (3.1.1 only with a broker that refuses 5); so does the limit, since
  // Mosquitto drains a backlog to an MQTT 5 client about ten times slower than to a 3.1.1 one.
  protocolVersion: 5,
  clientId: given.clientId,
  clean: true,
  keepalive: 60,
  reconnectPeriod: 0,
  log: () => undefined,
});
client.on("message", (topic, payload) => {
  latest.set(topic, payload.toString());
  counter.arrived();
});
client.on("error", (error) => {
  process.stderr.write(`bare subscriber: ${error.message}\n`);
});
exitOnOrder(() => client.endAsync(true));
client.once("connect", () => {
  void client.subscribeAsync([...given.subscriptions], { qos: 0 }).then(() => {
    counter.ready();
  });
});
