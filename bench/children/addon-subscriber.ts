/**
 * The add-on's message path: its own BrokerConnection (MQTT.js underneath) whose onMessage hands
 * each message to ingestMessage, into a ReadingsStore built from rules compiled by parseOptions,
 * with the same ignored prefixes as the add-on. It loads src/app/addon.ts, and with it the add-on's
 * module graph, so that the memory figures include its code.
 *
 * With `publishing`, the rules on `update: change` are recomputed and published as in the add-on:
 * the same wiring as startAddon (src/app/addon.ts) of an Evaluation (formulas over the store), an
 * UpdateScheduler poked after each message and an EntityPublisher publishing to the broker, QoS 1 and retained, in slices.
 */
import { monotonicNow } from "../../src/app/addon.js";
import { ingestMessage } from "../../src/app/message-intake.js";
import { inSlices } from "../../src/app/slices.js";
import { UpdateScheduler } from "../../src/app/update-scheduler.js";
import { Evaluation } from "../../src/core/evaluation.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { EntityPublisher } from "../../src/homeassistant/entity-publisher.js";
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
const now = monotonicNow;
let published = 0;
const counter = new BurstCounter(
  given,
  () => store.trackedTopicCount,
  () => published,
);
const layout = { discoveryPrefix: settings.discoveryPrefix, baseTopic: settings.baseTopic };

const connection: BrokerConnection = new BrokerConnection({
  address: { host: "127.0.0.1", port: given.port, tls: false },
  clientId: given.clientId,
  statusTopic: statusTopic(layout),
  log: quiet,
  onMessage: (topic, payload) => {
    ingestMessage(store, topic, payload, now());
    updates?.poke();
    counter.arrived();
  },
  onConnected: async () => {
    // The union of every subscriber's subscriptions, which include the add-on's own (subscriptionsOf).
    await connection.subscribe(given.subscriptions);
    counter.ready();
  },
});

const updates = given.publishing === true ? publishingUpdates() : undefined;

function publishingUpdates(): UpdateScheduler {
  const evaluation = new Evaluation(store, settings.rules);
  const publisher = new EntityPublisher({
    layout,
    addon: { version: "bench", supportUrl: "https://example.invalid/bench" },
    rules: settings.rules,
    publish: (topic, payload, options) => {
      published += 1;
      return connection.publish(topic, payload, options);
    },
  });
  return new UpdateScheduler({
    evaluation,
    rules: settings.rules,
    now,
    publish: (outputs) =>
      inSlices(outputs, (slice) =>
        publisher.publishDerived(
          slice.map(({ value, pending }) => ({
            derived: value,
            pending:
              pending === undefined
                ? undefined
                : { on: pending.on, at: new Date(Date.now() + pending.at - now()) },
          })),
        ),
      ),
    onFindings: () => undefined,
  });
}

exitOnOrder(async () => {
  updates?.stop();
  await connection.stop();
});
