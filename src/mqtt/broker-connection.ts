import mqtt, { type IClientOptions, type MqttClient } from "mqtt";

/** Where the broker is and how to log in; the password never leaves this object except to MQTT.js. */
export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

export interface ConnectionLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface BrokerConnectionOptions {
  readonly address: BrokerAddress;
  readonly clientId: string;
  /** Retained, published by the broker if the add-on vanishes without saying goodbye. */
  readonly statusTopic: string;
  readonly log: ConnectionLog;
  /** Called after every (re)connection, once `online` is published: subscribe and republish here. */
  readonly onConnected: () => Promise<void>;
  readonly onMessage: (topic: string, payload: Buffer) => void;
}

const FIRST_RETRY_MS = 1_000;
const LONGEST_RETRY_MS = 30_000;
export const ONLINE = "online";
export const OFFLINE = "offline";

export function describeAddress(address: BrokerAddress): string {
  const user = address.username === undefined ? "" : ` as ${address.username}`;
  return `${address.tls ? "mqtts" : "mqtt"}://${address.host}:${address.port}${user}`;
}

/**
 * The one MQTT.js client of the add-on. It reconnects by itself with a backoff, logs one line
 * per change of state (not one per retry), and never queues publishes while offline: what
 * Home Assistant needs is republished on every connection instead.
 */
export class BrokerConnection {
  private readonly client: MqttClient;
  private state: "connecting" | "connected" | "lost" | "refused" = "connecting";
  private lastProblem = "";
  private stopping = false;

  constructor(private readonly options: BrokerConnectionOptions) {
    const { address } = options;
    const clientOptions: IClientOptions = {
      host: address.host,
      port: address.port,
      protocol: address.tls ? "mqtts" : "mqtt",
      protocolVersion: 4,
      clientId: options.clientId,
      clean: true,
      keepalive: 60,
      connectTimeout: 10_000,
      reconnectPeriod: FIRST_RETRY_MS,
      reconnectOnConnackError: true,
      // Subscriptions are renewed in onConnected, in one place, after every connection.
      resubscribe: false,
      queueQoSZero: false,
      rejectUnauthorized: true,
      // MQTT.js traces every packet through `debug`; even switched off that is ~10% of the message
      // path, and nobody can set DEBUG inside an add-on's container.
      log: () => undefined,
      will: { topic: options.statusTopic, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
      ...(address.username === undefined ? {} : { username: address.username }),
      ...(address.password === undefined ? {} : { password: address.password }),
    };
    this.client = mqtt.connect(clientOptions);
    this.client.on("connect", () => void this.connected());
    this.client.on("close", () => this.closed());
    this.client.on("error", (error) => this.failed(error));
    this.client.on("message", (topic, payload) => this.options.onMessage(topic, payload));
  }

  get isConnected(): boolean {
    return this.client.connected;
  }

  async subscribe(filters: readonly string[]): Promise<void> {
    if (filters.length === 0) return;
    const granted = await this.client.subscribeAsync([...filters], { qos: 0 });
    // 128 is the broker saying no (an ACL); MQTT.js reports it as a grant, not an error.
    const refused = granted.filter((grant) => grant.qos === 128).map((grant) => grant.topic);
    if (refused.length > 0)
      this.options.log.error(`The MQTT broker refused the subscription to ${refused.join(", ")}`);
  }

  async unsubscribe(filters: readonly string[]): Promise<void> {
    if (filters.length === 0) return;
    await this.client.unsubscribeAsync([...filters]);
  }

  /** Publishes when connected; while offline it drops the message (the next connection republishes). */
  async publish(topic: string, payload: string, options: { retain: boolean; qos: 0 | 1 }): Promise<boolean> {
    if (!this.client.connected) return false;
    try {
      await this.client.publishAsync(topic, payload, options);
      return true;
    } catch (error) {
      // A connection lost mid-publish is the broker's fault, reported by the close handler.
      if (!isConnected(this.client)) return false;
      throw error;
    }
  }

  /** Says `offline`, then closes the connection; bounded, because a stop must end within seconds. */
  async stop(timeoutMs = 2_000): Promise<void> {
    this.stopping = true;
    const goodbye = async () => {
      if (this.client.connected)
        await this.publish(this.options.statusTopic, OFFLINE, { retain: true, qos: 1 });
      await this.client.endAsync(false);
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([goodbye().catch(() => undefined), timeout]);
    clearTimeout(timer);
    if (!this.client.disconnected) await this.client.endAsync(true).catch(() => undefined);
  }

  private async connected(): Promise<void> {
    this.client.options.reconnectPeriod = FIRST_RETRY_MS;
    const address = describeAddress(this.options.address);
    this.options.log.info(
      this.state === "connecting"
        ? `Connected to the MQTT broker at ${address}`
        : `Reconnected to the MQTT broker at ${address}`,
    );
    this.state = "connected";
    this.lastProblem = "";
    try {
      await this.publish(this.options.statusTopic, ONLINE, { retain: true, qos: 1 });
      await this.options.onConnected();
    } catch (error) {
      if (this.client.connected) throw error;
    }
  }

  private closed(): void {
    if (this.stopping) return;
    // Back off: 1 s, 2 s, 4 s … 30 s between attempts, so a broker that is down is not hammered.
    const period = this.client.options.reconnectPeriod ?? FIRST_RETRY_MS;
    this.client.options.reconnectPeriod = Math.min(period * 2, LONGEST_RETRY_MS);
    if (this.state === "connected") {
      this.state = "lost";
      this.options.log.warn("Lost the connection to the MQTT broker; reconnecting");
    }
  }

  private failed(error: Error & { code?: unknown }): void {
    const refused = typeof error.code === "number";
    const problem = refused
      ? `The MQTT broker refused the connection: ${error.message.replace(/^Connection refused: /, "")}`
      : `Cannot reach the MQTT broker at ${describeAddress(this.options.address)}: ${error.message}`;
    if (problem === this.lastProblem) return;
    this.lastProblem = problem;
    if (refused) {
      this.state = "refused";
      this.options.log.error(`${problem}; check the username and password; retrying`);
    } else {
      this.options.log.warn(`${problem}; retrying`);
    }
  }
}

/** Read through a call: the connection can drop while a publish is awaited. */
function isConnected(client: MqttClient): boolean {
  return client.connected;
}
