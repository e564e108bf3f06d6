/**
 * (b) The add-on's message path: its own BrokerConnection (MQTT.js underneath) whose onMessage
 * hands each message to ingestMessage, into a ReadingsStore built from rules compiled by
 * parseOptions, with the same ignored prefixes as the add-on. Loading src/app/addon.ts (for
 * subscriptionsOf) also loads the add-on's module graph, so the memory figures include its code.
 */
import { subscriptionsOf } from "../../src/app/addon.js";
import { ingestMessage } from "../../src/app/message-intake.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { statusTopic } from "../../src/homeassistant/entity-topics.js";
import { BrokerConnection } from "../../src/mqtt/broker-connection.js";
import { parseOptions } from "../../src/options/parse-options.js";
import { BurstCounter, exitOnOrder } from "./burst-counter.js";
import { orders } from "./process-stats.js";
import type { SubscriberOrders } from "./protocol.js";

const given = await orders<SubscriberOrders>();
const parsed = parseOptions(given.options);
if (!parsed.ok) throw new Error(`the bench's options are invalid:\n${parsed.problems.join("\n")}`);
const { settings } = parsed;

const quiet = {
  info: () => undefined,
  warn: (line: string) => process.stderr.write(`add-on subscriber: ${line}\n`),
  error: (line: string) => process.stderr.write(`add-on subscriber: ${line}\n`),
};
const store = new ReadingsStore(settings.rules, {
  ignoredPrefixes: [`${settings.baseTopic}/`, `${settings.discoveryPrefix}/`],
  onSourceLimit: (rule) => quiet.warn(`rule ${rule.key} hit max_sources`),
});
const counter = new BurstCounter(given, () => store.trackedTopicCount);

const connection: BrokerConnection = new BrokerConnection({
  address: { host: "127.0.0.1", port: given.port, tls: false },
  clientId: given.clientId,
  statusTopic: statusTopic({ discoveryPrefix: settings.discoveryPrefix, baseTopic: settings.baseTopic }),
  log: quiet,
  onMessage: (topic, payload) => {
    ingestMessage(store, topic, payload, Date.now());
    counter.arrived();
  },
  onConnected: async () => {
    await connection.subscribe(subscriptionsOf(settings.rules));
    counter.ready();
  },
});
exitOnOrder(() => connection.stop());
