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

/**
 * Where the address came from, when it can be asked again: the Supervisor's MQTT service, whose
 * broker, port and password change when Mosquitto is reinstalled or another broker add-on takes over.
 */
export interface AddressSource {
  /** For the log: "the Supervisor". */
  readonly name: string;
  /** The address as the source gives it now; `undefined` when it has no answer. Never rejects. */
  refresh(): Promise<BrokerAddress | undefined>;
}

export interface ConnectionTiming {
  /** Offline (unreachable or refused) this long: ask the address source again, and again after as long. */
  readonly refreshAfterMs: number;
  /** A broker that takes longer to answer a SUBSCRIBE or UNSUBSCRIBE is treated as broken: reconnect. */
  readonly replyTimeoutMs: number;
  /** A broker that acknowledges none of the waiting QoS 1 messages for this long is treated as broken. */
  readonly ackTimeoutMs: number;
}

/** MQTT 5, or 3.1.1 (protocol level 4) for brokers that refuse 5. */
export type MqttVersion = 4 | 5;

export function describeVersion(version: MqttVersion): string {
  return version === 5 ? "MQTT 5" : "MQTT 3.1.1";
}

export interface PublishOptions {
  readonly retain: boolean;
  readonly qos: 0 | 1;
  /**
   * With MQTT 5, the broker forgets the retained message this many seconds after receiving it
   * (message expiry); with 3.1.1 it is kept until replaced. Absent: never forgotten.
   */
  readonly expiresAfterS?: number | undefined;
}

export const DEFAULT_CONNECTION_TIMING: ConnectionTiming = {
  refreshAfterMs: 120_000,
  replyTimeoutMs: 10_000,
  ackTimeoutMs: 60_000,
};

export interface BrokerConnectionOptions {
  readonly address: BrokerAddress;
  /** Absent when the user set the broker in the options: then only that broker is ever tried. */
  readonly addressSource?: AddressSource | undefined;
  readonly timing?: Partial<ConnectionTiming> | undefined;
  readonly clientId: string;
  /** Retained, published by the broker if the add-on vanishes without saying goodbye. */
  readonly statusTopic: string;
  readonly log: ConnectionLog;
  /**
   * Called after every (re)connection, once `online` is sent: subscribe and republish here.
   * `lost` aborts when this connection ends, so that work tied to it can stop and be redone on
   * the next one. A {@link BrokerFault} it throws makes the connection start over; anything else
   * is a bug and is not caught.
   */
  readonly onConnected: (lost: AbortSignal) => Promise<void>;
  readonly onMessage: (topic: string, payload: Buffer) => void;
}

/** The broker did something wrong (or went away) during an operation: reconnecting is the answer. */
export class BrokerFault extends Error {
  override readonly name = "BrokerFault";
}

const FIRST_RETRY_MS = 1_000;
const LONGEST_RETRY_MS = 30_000;
export const ONLINE = "online";
export const OFFLINE = "offline";

/** CONNACK codes that mean "not this protocol version": 1 in MQTT 3.1.1, 0x84 in MQTT 5. */
const PROTOCOL_REFUSED = new Set([1, 0x84]);
/** CONNACK codes that mean "not with these credentials": 4 and 5 in MQTT 3.1.1, 0x86 and 0x87 in MQTT 5. */
const CREDENTIALS_REFUSED = new Set([4, 5, 0x86, 0x87]);
/** Errors MQTT.js raises itself when the broker does not answer: the broker is out of reach, not broken. */
const SILENCE = new Set(["connack timeout", "Keepalive timeout"]);

export function describeAddress(address: BrokerAddress): string {
  const user = address.username === undefined ? "" : ` as ${address.username}`;
  return `${address.tls ? "mqtts" : "mqtt"}://${address.host}:${address.port}${user}`;
}

function sameBroker(a: BrokerAddress, b: BrokerAddress): boolean {
  return a.host === b.host && a.port === b.port && a.tls === b.tls;
}

function sameAddress(a: BrokerAddress, b: BrokerAddress): boolean {
  return (
    a.host === b.host &&
    a.port === b.port &&
    a.tls === b.tls &&
    a.username === b.username &&
    a.password === b.password
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The one MQTT connection of the add-on. It reconnects by itself with a backoff, logs one line
 * per change of state (not one per retry), never queues publishes while offline (what
 * Home Assistant needs is republished on every connection instead), and never lets a read wait
 * for the broker's acknowledgements. When the broker refuses the login or stays out of reach,
 * it asks the address source again and follows it to a new address or password.
 *
 * It speaks MQTT 5 and falls back to 3.1.1 with a broker that refuses 5 (a CONNACK saying
 * "unacceptable protocol version", or a connection closed before any CONNACK, as some 3.1.1-only
 * brokers do), for as long as it stays with that broker.
 */
export class BrokerConnection {
  private readonly timing: ConnectionTiming;
  private address: BrokerAddress;
  /** Replaced when the address changes or the broker stops acknowledging; an earlier client's events are ignored. */
  private client: MqttClient;
  private state: "connecting" | "connected" | "lost" | "refused" = "connecting";
  /** Aborted when the current connection ends. */
  private session: AbortController | undefined;
  private lastProblem = "";
  private lastPublishProblem = "";
  private stopping = false;
  /** When the add-on last stopped being connected and listening (monotonic ms); undefined while it is. */
  private offlineSince: number | undefined = performance.now();
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private toldOfLongOutage = false;
  /** QoS 1 messages handed to the current client and not acknowledged yet. */
  private unacknowledged = 0;
  /** Since when messages wait and the broker has acknowledged none of them (monotonic ms). */
  private ackAwaitedSince: number | undefined;
  /** The version the next client speaks; the current client's is `clientVersion`. */
  private version: MqttVersion = 5;
  private clientVersion: MqttVersion = 5;
  /** Whether 3.1.1 was chosen because a broker closed an MQTT 5 connection without a word (it may just be down). */
  private fellBackOnClose = false;
  private toldOfFallBack = false;

  constructor(private readonly options: BrokerConnectionOptions) {
    this.timing = { ...DEFAULT_CONNECTION_TIMING, ...options.timing };
    this.address = options.address;
    this.client = this.connect(options.address);
    this.armRefresh();
  }

  get isConnected(): boolean {
    return this.client.connected;
  }

  /** Whether retained messages can expire on the current connection (MQTT 5). */
  get expiresMessages(): boolean {
    return this.clientVersion === 5;
  }

  /** How long the add-on has been without a working connection; 0 while it has one. */
  offlineForMs(): number {
    return this.offlineSince === undefined ? 0 : performance.now() - this.offlineSince;
  }

  /** Throws a {@link BrokerFault} when the broker does not answer in time or answers nonsense. */
  async subscribe(filters: readonly string[]): Promise<void> {
    if (filters.length === 0) return;
    const client = this.client;
    let granted: readonly number[];
    try {
      const grants = await this.answeredInTime(client.subscribeAsync([...filters], { qos: 0 }), "SUBSCRIBE");
      granted = grants.map((grant) => grant.qos);
    } catch (error) {
      // MQTT.js rejects a SUBACK that refuses a subscription (0x80, an ACL), but hands over the packet.
      const refusedCodes = refusedGrants(error, filters.length);
      if (refusedCodes === undefined) {
        // A SUBACK that came but makes no sense: said here, because MQTT.js may close the connection first.
        if (hasPacket(error)) this.brokerBroke(client, messageOf(error));
        throw asBrokerFault(error);
      }
      granted = refusedCodes;
    }
    const refused = filters.filter((_, index) => ((granted[index] ?? 0) & 0x80) !== 0);
    if (refused.length > 0)
      this.options.log.error(`The MQTT broker refused the subscription to ${refused.join(", ")}`);
  }

  async unsubscribe(filters: readonly string[]): Promise<void> {
    if (filters.length === 0) return;
    try {
      await this.answeredInTime(this.client.unsubscribeAsync([...filters]), "UNSUBSCRIBE");
    } catch (error) {
      throw asBrokerFault(error);
    }
  }

  /**
   * Hands the message to the connection and resolves at once: `true` when connected, `false`
   * when offline (the message is dropped; the next connection republishes). It never waits for
   * the broker's acknowledgement, so a broker that withholds PUBACKs cannot hold up reads and
   * saves (one that acknowledges nothing for `ackTimeoutMs` gets a fresh connection); a message
   * lost with its connection is republished by the next one.
   */
  publish(topic: string, payload: string, options: PublishOptions): Promise<boolean> {
    const client = this.client;
    if (!client.connected || this.acknowledgementsWithheld()) return Promise.resolve(false);
    if (options.qos === 1) {
      this.unacknowledged += 1;
      this.ackAwaitedSince ??= performance.now();
    }
    const { retain, qos, expiresAfterS } = options;
    const expiring = expiresAfterS !== undefined && this.clientVersion === 5;
    const sent = expiring
      ? { retain, qos, properties: { messageExpiryInterval: Math.max(1, Math.ceil(expiresAfterS)) } }
      : { retain, qos };
    client.publish(topic, payload, sent, (error) => {
      if (options.qos === 1 && client === this.client) this.acknowledged();
      if (error instanceof Error) this.publishFailed(client, topic, error);
    });
    return Promise.resolve(true);
  }

  /** Says `offline`, then closes the connection; bounded, because a stop must end within seconds. */
  async stop(timeoutMs = 2_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.refreshTimer);
    this.session?.abort();
    const client = this.client;
    const goodbye = async () => {
      // Awaited, unlike other publishes: the broker should have `offline` before the connection ends.
      if (client.connected)
        await client.publishAsync(this.options.statusTopic, OFFLINE, { retain: true, qos: 1 });
      await client.endAsync(false);
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([goodbye().catch(() => undefined), timeout]);
    clearTimeout(timer);
    if (!client.disconnected) await client.endAsync(true).catch(() => undefined);
  }

  private connect(address: BrokerAddress): MqttClient {
    const clientOptions: IClientOptions = {
      host: address.host,
      port: address.port,
      protocol: address.tls ? "mqtts" : "mqtt",
      protocolVersion: this.version,
      clientId: this.options.clientId,
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
      will: { topic: this.options.statusTopic, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
      ...(address.username === undefined ? {} : { username: address.username }),
      ...(address.password === undefined ? {} : { password: address.password }),
    };
    const client = mqtt.connect(clientOptions);
    this.clientVersion = this.version;
    // Whether the attempt under way got as far as sending CONNECT, and whether the broker answered it.
    let connectSent = false;
    let answered = false;
    client.on("packetsend", (packet) => {
      if (packet.cmd !== "connect") return;
      connectSent = true;
      answered = false;
      this.clientVersion = client.options.protocolVersion === 5 ? 5 : 4;
    });
    client.on("packetreceive", (packet) => {
      if (packet.cmd === "connack") answered = true;
    });
    // Every handler stays attached to a replaced client (an "error" without a listener would
    // throw), but only the current client's events count.
    client.on("connect", () => {
      if (client === this.client) void this.connected(client);
    });
    client.on("close", () => {
      if (client !== this.client) return;
      if (connectSent && !answered) this.unansweredConnect();
      connectSent = false;
      this.closed();
    });
    client.on("error", (error) => {
      if (client === this.client) this.failed(error);
    });
    client.on("message", (topic, payload) => {
      if (client === this.client) this.options.onMessage(topic, payload);
    });
    return client;
  }

  private async connected(client: MqttClient): Promise<void> {
    const address = `${describeAddress(this.address)} with ${describeVersion(this.clientVersion)}`;
    this.fellBackOnClose = false;
    this.options.log.info(
      this.state === "connecting"
        ? `Connected to the MQTT broker at ${address}`
        : `Reconnected to the MQTT broker at ${address}`,
    );
    this.state = "connected";
    // Messages still waiting from the previous connection are sent again: their clock starts anew.
    if (this.unacknowledged > 0) this.ackAwaitedSince = performance.now();
    this.session?.abort();
    const session = new AbortController();
    this.session = session;
    try {
      await this.publish(this.options.statusTopic, ONLINE, { retain: true, qos: 1 });
      await this.options.onConnected(session.signal);
    } catch (error) {
      if (session.signal.aborted || client !== this.client) return;
      if (!(error instanceof BrokerFault)) throw error;
      this.brokerBroke(client, error.message);
      return;
    }
    if (session.signal.aborted) return;
    // Only a connection that got as far as listening resets the backoff and ends the outage:
    // a broker that accepts the login and then fails every subscription must not be retried every second.
    client.options.reconnectPeriod = FIRST_RETRY_MS;
    this.lastProblem = "";
    this.lastPublishProblem = "";
    this.offlineSince = undefined;
    this.toldOfLongOutage = false;
    clearTimeout(this.refreshTimer);
  }

  private closed(): void {
    this.session?.abort();
    if (this.stopping) return;
    // Back off: 1 s, 2 s, 4 s … 30 s between attempts, so a broker that is down is not hammered.
    const period = this.client.options.reconnectPeriod ?? FIRST_RETRY_MS;
    this.client.options.reconnectPeriod = Math.min(period * 2, LONGEST_RETRY_MS);
    if (this.offlineSince === undefined) {
      this.offlineSince = performance.now();
      this.armRefresh();
    }
    if (this.state === "connected") {
      this.state = "lost";
      this.options.log.warn("Lost the connection to the MQTT broker; reconnecting");
    }
  }

  private failed(error: Error & { code?: unknown }): void {
    const code = error.code;
    const refusal = typeof code === "number" && error.message.startsWith("Connection refused");
    if (refusal && PROTOCOL_REFUSED.has(code) && this.clientVersion === 5) {
      this.fallBack(error.message.replace(/^Connection refused: /, "").toLowerCase(), false);
    } else if (refusal) {
      this.refused(code, error.message.replace(/^Connection refused: /, ""));
    } else if (typeof code === "string" || SILENCE.has(error.message)) {
      this.report(
        "warn",
        `Cannot reach the MQTT broker at ${describeAddress(this.address)}: ${error.message}`,
      );
    } else {
      // Whatever MQTT.js could not make sense of (a malformed packet, an answer to nothing).
      this.brokerBroke(this.client, error.message);
    }
  }

  /**
   * A broker that closes the connection before answering CONNECT: with MQTT 5, maybe a
   * 3.1.1-only broker, so the next attempt speaks 3.1.1; with a 3.1.1 chosen for that reason
   * alone, maybe a broker that was just going down, so the next attempt speaks 5 again. Either
   * way the next attempt comes after the usual backoff.
   */
  private unansweredConnect(): void {
    if (this.stopping) return;
    if (this.clientVersion === 5) this.fallBack("it closed the connection without answering", true);
    else if (this.fellBackOnClose) {
      this.fellBackOnClose = false;
      this.useVersion(5);
    }
  }

  /** The next attempt, by this client or the next one for the same broker, speaks 3.1.1; said once per broker. */
  private fallBack(why: string, onClose: boolean): void {
    this.useVersion(4);
    this.fellBackOnClose = onClose;
    if (this.toldOfFallBack) return;
    this.toldOfFallBack = true;
    this.options.log.info(
      `The MQTT broker at ${describeAddress(this.address)} does not take MQTT 5 (${why}); connecting with MQTT 3.1.1`,
    );
  }

  /** MQTT.js builds each reconnection's CONNECT and packet parser from its options. */
  private useVersion(version: MqttVersion): void {
    this.version = version;
    this.client.options.protocolVersion = version;
  }

  private refused(code: number, reason: string): void {
    this.state = "refused";
    const problem = `The MQTT broker refused the connection: ${reason}`;
    const source = this.options.addressSource;
    if (!CREDENTIALS_REFUSED.has(code)) {
      this.report("error", problem);
    } else if (source === undefined) {
      this.report("error", problem, "check the username and password");
    } else {
      // The Mosquitto add-on makes a new password when its data is reset; the source knows it.
      this.report("error", problem, `asking ${source.name} for the current login`);
      void this.refresh();
    }
  }

  /** One line per change of situation, not one per retry. */
  private report(level: "warn" | "error", problem: string, advice?: string): void {
    if (problem === this.lastProblem) return;
    this.lastProblem = problem;
    this.options.log[level](`${problem}; ${advice === undefined ? "" : `${advice}; `}retrying`);
  }

  /** Logs a broker fault and starts over, as after any other loss of the connection. */
  private brokerBroke(client: MqttClient, what: string): void {
    const problem = `The MQTT broker broke the protocol (${what})`;
    if (problem !== this.lastProblem) {
      this.lastProblem = problem;
      this.options.log.error(`${problem}; reconnecting`);
    }
    client.stream.destroy();
  }

  private publishFailed(client: MqttClient, topic: string, error: Error): void {
    // A connection lost before the acknowledgement: the close handler reports it, the next connection republishes.
    if (client !== this.client || !client.connected || this.stopping) return;
    const problem = error.message;
    if (problem === this.lastPublishProblem) return;
    this.lastPublishProblem = problem;
    this.options.log.warn(`The MQTT broker did not take the message on ${JSON.stringify(topic)}: ${problem}`);
  }

  private armRefresh(): void {
    if (this.options.addressSource === undefined || this.stopping) return;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      if (this.offlineSince === undefined || this.stopping) return;
      if (!this.toldOfLongOutage) {
        this.toldOfLongOutage = true;
        const source = this.options.addressSource?.name ?? "";
        this.options.log.warn(
          `No connection to the MQTT broker for ${Math.round(this.timing.refreshAfterMs / 1000)} s; asking ${source} where it is now`,
        );
      }
      void this.refresh();
      this.armRefresh();
    }, this.timing.refreshAfterMs);
    this.refreshTimer.unref();
  }

  /** Asks the address source again; follows it when it names another broker or another login. */
  private async refresh(): Promise<void> {
    const source = this.options.addressSource;
    if (source === undefined || this.refreshing || this.stopping) return;
    this.refreshing = true;
    try {
      const next = await source.refresh();
      // Meanwhile the broker may have let the add-on in, or the add-on may be stopping.
      if (next === undefined || !this.waitingForBroker() || sameAddress(next, this.address)) return;
      const moved =
        next.host !== this.address.host || next.port !== this.address.port || next.tls !== this.address.tls;
      this.options.log.info(
        moved
          ? `${capitalized(source.name)} now names the MQTT broker at ${describeAddress(next)}; connecting to it`
          : `${capitalized(source.name)} gives a new login for the MQTT broker at ${describeAddress(next)}; reconnecting`,
      );
      this.lastProblem = "";
      this.replaceClient(next);
    } finally {
      this.refreshing = false;
    }
  }

  private acknowledged(): void {
    this.unacknowledged = Math.max(0, this.unacknowledged - 1);
    this.ackAwaitedSince = this.unacknowledged === 0 ? undefined : performance.now();
  }

  /**
   * A broker that answers pings but acknowledges nothing is broken, and MQTT.js would keep every
   * message for it: start over with a fresh client, which also lets go of them.
   */
  private acknowledgementsWithheld(): boolean {
    const since = this.ackAwaitedSince;
    if (since === undefined || performance.now() - since < this.timing.ackTimeoutMs) return false;
    const problem = `The MQTT broker acknowledged none of ${this.unacknowledged} messages for ${Math.round(this.timing.ackTimeoutMs / 1000)} s`;
    if (problem !== this.lastProblem) {
      this.lastProblem = problem;
      this.options.log.error(`${problem}; reconnecting`);
    }
    this.replaceClient(this.address);
    return true;
  }

  /** A fresh MQTT.js client in place of the current one, whose events are ignored from now on. */
  private replaceClient(address: BrokerAddress): void {
    const previous = this.client;
    this.session?.abort();
    // Another broker may well speak MQTT 5.
    if (!sameBroker(address, this.address)) {
      this.version = 5;
      this.fellBackOnClose = false;
      this.toldOfFallBack = false;
    }
    this.address = address;
    this.unacknowledged = 0;
    this.ackAwaitedSince = undefined;
    this.client = this.connect(address);
    previous.end(true);
    // What closed() does for the current client: the replaced one's close is not heard.
    if (this.offlineSince === undefined) {
      this.offlineSince = performance.now();
      this.armRefresh();
    }
    if (this.state === "connected") this.state = "lost";
  }

  private waitingForBroker(): boolean {
    return !this.stopping && !this.client.connected;
  }

  /** Bounds an operation that waits for the broker's answer; a broker that never answers is broken. */
  private async answeredInTime<T>(operation: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new BrokerFault(`no answer to ${what} within ${this.timing.replyTimeoutMs / 1000} s`));
      }, this.timing.replyTimeoutMs);
    });
    try {
      return await Promise.race([operation, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Whatever MQTT.js rejected an operation with, it came from the broker or the connection. */
function asBrokerFault(error: unknown): BrokerFault {
  return error instanceof BrokerFault ? error : new BrokerFault(messageOf(error));
}

/** MQTT.js's ErrorWithSubackPacket: the rejection carries the SUBACK that caused it. */
function hasPacket(error: unknown): error is { packet: unknown } {
  return typeof error === "object" && error !== null && "packet" in error;
}

/** The return codes of a SUBACK MQTT.js rejected for refusing a subscription, if it has one per filter. */
function refusedGrants(error: unknown, count: number): readonly number[] | undefined {
  if (!hasPacket(error)) return undefined;
  const packet = error.packet;
  if (typeof packet !== "object" || packet === null || !("granted" in packet)) return undefined;
  const granted: unknown = packet.granted;
  if (!Array.isArray(granted) || granted.length !== count) return undefined;
  const codes = granted.filter((code): code is number => typeof code === "number");
  return codes.length === count && codes.some((code) => (code & 0x80) !== 0) ? codes : undefined;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
