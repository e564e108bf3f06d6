import { randomBytes } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import { SAMPLED_PAYLOAD_BYTES, type TopicSample } from "../core/topic-sample.js";
import type { BrokerAddress } from "../mqtt/broker-connection.js";
import type { SamplingView } from "./wire.js";

/** Sampling goes on this long after the rule tester last asked, then stops and forgets. */
export const SAMPLING_LINGER_MS = 5 * 60_000;

export interface TopicSamplerOptions {
  readonly broker: BrokerAddress;
  readonly sample: TopicSample;
  readonly log: { info(message: string): void; warn(message: string): void };
  /** The monotonic clock the readings store uses. */
  readonly now: () => number;
  /** Topics already known, to start the sample with: what the rules read, which may not be retained. */
  readonly known: () => Iterable<{
    readonly topic: string;
    readonly payload: string;
    readonly receivedAt: number;
  }>;
  readonly lingerMs?: number;
}

/**
 * Fills the rule tester's sample with every topic on the broker, but only while someone uses the
 * tester: a connection of its own subscribes to `#` when the tester first asks and ends
 * SAMPLING_LINGER_MS after it last asked. The add-on's own connection and its message path stay
 * exactly as they are (a second subscription there would make brokers that deliver one copy per
 * matching subscription, such as Mosquitto 2.1, send the rules' messages twice).
 */
export class TopicSampler {
  private client: MqttClient | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private since: number | undefined;
  private problem: string | undefined;
  private readonly lingerMs: number;

  constructor(private readonly options: TopicSamplerOptions) {
    this.lingerMs = options.lingerMs ?? SAMPLING_LINGER_MS;
  }

  /** Samples from now until lingerMs from now. */
  keepAlive(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = setTimeout(() => void this.stop(), this.lingerMs);
    if (this.client === undefined) this.start();
  }

  get state(): SamplingView {
    return {
      active: this.client !== undefined && this.client.connected,
      topics: this.options.sample.size,
      since: this.since,
      problem: this.problem,
    };
  }

  /** Ends sampling and forgets the sample. */
  async stop(): Promise<void> {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    const client = this.client;
    if (client === undefined) return;
    this.client = undefined;
    this.since = undefined;
    this.problem = undefined;
    this.options.sample.clear();
    this.options.log.info("Stopped sampling the broker's topics for the rule tester");
    await client.endAsync(true).catch(() => undefined);
  }

  private start(): void {
    const { broker, sample, log, now } = this.options;
    for (const { topic, payload, receivedAt } of this.options.known())
      sample.note(topic, payload.slice(0, SAMPLED_PAYLOAD_BYTES), Buffer.byteLength(payload), receivedAt);
    this.since = now();
    const client = mqtt.connect({
      host: broker.host,
      port: broker.port,
      protocol: broker.tls ? "mqtts" : "mqtt",
      protocolVersion: 4,
      clientId: `mqtt_aggregator_tester_${randomBytes(4).toString("hex")}`,
      clean: true,
      keepalive: 60,
      connectTimeout: 10_000,
      reconnectPeriod: 5_000,
      // Subscribed on every connection below, once.
      resubscribe: false,
      queueQoSZero: false,
      rejectUnauthorized: true,
      log: () => undefined,
      ...(broker.username === undefined ? {} : { username: broker.username }),
      ...(broker.password === undefined ? {} : { password: broker.password }),
    });
    this.client = client;
    client.on("connect", () => {
      client.subscribe("#", { qos: 0 }, (error, granted) => {
        if (error !== null) this.report(`cannot subscribe to #: ${error.message}`);
        // 128 is the broker saying no (an ACL); MQTT.js reports it as a grant, not an error.
        else if (granted?.some((grant) => grant.qos === 128) === true)
          this.report("the MQTT broker refused the subscription to # (an ACL?)");
        else this.problem = undefined;
      });
    });
    client.on("error", (error) => this.report(`cannot reach the MQTT broker: ${error.message}`));
    client.on("message", (topic, payload) => {
      // Only the beginning is decoded: a camera's snapshot on the broker is not copied whole.
      const text =
        payload.length > SAMPLED_PAYLOAD_BYTES
          ? payload.toString("utf8", 0, SAMPLED_PAYLOAD_BYTES)
          : payload.toString("utf8");
      sample.note(topic, text, payload.length, now());
    });
    const linger =
      this.lingerMs >= 60_000 ? `${this.lingerMs / 60_000} minutes` : `${this.lingerMs / 1000} s`;
    log.info(
      `Sampling every topic on the broker for the rule tester, until ${linger} after it was last used`,
    );
  }

  private report(problem: string): void {
    if (problem === this.problem) return;
    this.problem = problem;
    this.options.log.warn(`Rule tester: ${problem}`);
  }
}
