import type { StatusFeed } from "../app/status-feed.js";
import type { ReadingsStore } from "../core/readings-store.js";
import type { ConfiguredRule } from "../core/rule.js";
import { tryRule } from "../core/rule-trial.js";
import { SAMPLED_PAYLOAD_BYTES, TopicSample } from "../core/topic-sample.js";
import type { TopicLayout } from "../homeassistant/entity-topics.js";
import type { Logger } from "../logging/logger.js";
import type { BrokerAddress } from "../mqtt/broker-connection.js";
import { entityView, trialMatchViews } from "./entity-view.js";
import { LiveStream } from "./live-stream.js";
import { LiveView } from "./live-view.js";
import { loadPageFiles, startStatusServer, type ListenAddress, type StatusBackend } from "./status-server.js";
import { TopicSampler } from "./topic-sampler.js";
import type { PayloadView } from "./wire.js";

export type { ListenAddress };

export interface StatusPageDependencies {
  readonly listen: ListenAddress;
  /** What the publisher published: the page shows the same values. */
  readonly feed: StatusFeed;
  /** Asked on demand only, for what a read would find now and for raw payloads. */
  readonly store: Pick<ReadingsStore, "inspect" | "payloadOf" | "snapshot">;
  readonly rules: readonly ConfiguredRule[];
  /** For the rule tester's own connection. */
  readonly broker: BrokerAddress;
  readonly layout: TopicLayout;
  readonly log: Logger;
  /** The monotonic clock the store's times are on. */
  readonly now: () => number;
}

export interface StatusPage {
  readonly address: ListenAddress;
  stop(): Promise<void>;
}

/**
 * The live status page: an HTTP server showing every rule's entities and sources as published,
 * and the rule tester. It changes nothing: no option, no reading, no published state. Returns
 * undefined (having said why) when it cannot listen: the add-on works without it.
 */
export async function startStatusPage(deps: StatusPageDependencies): Promise<StatusPage | undefined> {
  const { listen, store, log, now } = deps;
  let files: Awaited<ReturnType<typeof loadPageFiles>>;
  try {
    files = await loadPageFiles();
  } catch (error) {
    log.warn(`The status page is off: its files are missing (${messageOf(error)})`);
    return undefined;
  }
  const rulesByKey = new Map(deps.rules.map((rule) => [rule.key, rule]));
  const view = new LiveView(deps.feed, deps.rules);
  const stream = new LiveStream(view, now);
  const sample = new TopicSample([`${deps.layout.baseTopic}/`, `${deps.layout.discoveryPrefix}/`]);
  const sampler = new TopicSampler({ broker: deps.broker, sample, log, now, known: () => store.snapshot() });

  const backend: StatusBackend = {
    snapshot: () => view.snapshot(now()),
    changesSince: (after) => view.changesSince(after, now()),
    inspect: (entityKey) => {
      const at = now();
      const value = store.inspect(at, entityKey);
      return {
        now: at,
        entity:
          value === undefined ? undefined : entityView(value, rulesByKey.get(value.identity.ruleKey), at),
      };
    },
    payload: (topic) => {
      const kept = store.payloadOf(topic);
      if (kept !== undefined) return payloadView(topic, kept, Buffer.byteLength(kept));
      const sampled = sample.get(topic);
      return payloadView(topic, sampled?.payload, sampled?.bytes ?? 0);
    },
    trial: (input) => {
      sampler.keepAlive();
      const result = tryRule(input, sample.entries(), (topic) => store.payloadOf(topic));
      const sampling = sampler.state;
      const at = now();
      if (!result.ok) return { ...result, now: at, sampling };
      const { matched, withReadings, converts } = result;
      return {
        ok: true,
        now: at,
        matches: trialMatchViews(result),
        matched,
        withReadings,
        converts,
        sampling,
      };
    },
    openStream: (response) => stream.open(response),
  };

  let server: Awaited<ReturnType<typeof startStatusServer>>;
  try {
    server = await startStatusServer(listen, backend, files, log);
  } catch (error) {
    log.warn(`The status page is off: cannot listen on ${hostPort(listen)} (${messageOf(error)})`);
    stream.stop();
    view.stop();
    return undefined;
  }
  const address = server.address;
  log.info(
    address.host === "0.0.0.0" || address.host === "::"
      ? `Status page listening on port ${address.port} for Home Assistant's ingress: open MQTT Aggregator in the sidebar`
      : `Status page on http://${hostPort(address)}/ (answers this machine only)`,
  );
  return {
    address,
    async stop() {
      stream.stop();
      view.stop();
      await sampler.stop();
      await server.close();
    },
  };
}

function payloadView(topic: string, payload: string | undefined, bytes: number): PayloadView {
  const shortened =
    payload !== undefined && (payload.length > SAMPLED_PAYLOAD_BYTES || bytes > SAMPLED_PAYLOAD_BYTES);
  return { topic, payload: payload?.slice(0, SAMPLED_PAYLOAD_BYTES), bytes, shortened };
}

function hostPort(address: ListenAddress): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
