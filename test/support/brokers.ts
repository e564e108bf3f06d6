import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { accessSync, constants as fsConstants } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";

import { Aedes } from "aedes";
import { connectAsync, type IClientOptions, type MqttClient } from "mqtt";

export type BrokerKind = "aedes" | "mosquitto";

export interface BrokerCredentials {
  readonly username?: string;
  readonly password?: string;
}

export interface MosquittoOptions extends BrokerCredentials {
  readonly port?: number;
  /** Serve MQTT over TLS with this certificate and key (PEM files). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /**
   * Take MQTT 3.1.1 only, as brokers before MQTT 5 did (Mosquitto before 1.6): an MQTT 5 CONNECT
   * gets a CONNACK saying "unacceptable protocol version" (`refuse`), or a closed connection
   * (`close`). Mosquitto has no setting for it, so a gate in front of it answers MQTT 5 and
   * passes 3.1.1 connections through.
   */
  readonly only311?: "refuse" | "close";
}

export interface TestBroker {
  readonly kind: BrokerKind;
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly url: string;
  /** The credentials it takes now (restart can change them). */
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** Ends the broker; connected clients see their socket close. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Stops, then starts a fresh broker on the same port, so reconnecting clients find it again;
   * with `credentials`, it takes those from then on (a Mosquitto add-on that made a new password).
   */
  restart(credentials?: BrokerCredentials): Promise<void>;
  /** What the broker printed so far (mosquitto's log; empty for aedes), for failure messages. */
  output(): string;
}

const HOST = "127.0.0.1";
const STARTUP_TIMEOUT_MS = 5_000;
const KILL_GRACE_MS = 2_000;

function onPath(binary: string, searchPath: string): boolean {
  return searchPath
    .split(path.delimiter)
    .filter((dir) => dir !== "")
    .some((dir) => {
      try {
        accessSync(path.join(dir, binary), fsConstants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

export function mosquittoAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  const searchPath = env["PATH"] ?? "";
  return onPath("mosquitto", searchPath) && onPath("mosquitto_passwd", searchPath);
}

/**
 * The brokers every broker-backed suite runs against. A missing mosquitto quietly narrows the
 * matrix on a laptop, but on CI it must fail loudly: a silently skipped suite is how
 * "works with the real broker" stops being true without anyone noticing.
 */
export function brokerKinds(env: NodeJS.ProcessEnv = process.env): BrokerKind[] {
  if (mosquittoAvailable(env)) return ["aedes", "mosquitto"];
  if (env["CI"] === "true") {
    throw new Error(
      "mosquitto and mosquitto_passwd are not on PATH, but CI=true requires the Mosquitto test suites to run; " +
        "install the mosquitto package (apt-get install mosquitto).",
    );
  }
  return ["aedes"];
}

export function startBroker(kind: BrokerKind, credentials: BrokerCredentials = {}): Promise<TestBroker> {
  return kind === "aedes" ? startAedes(credentials) : startMosquitto(credentials);
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  if (address === null || typeof address === "string") throw new Error("could not read a free port");
  return address.port;
}

function checkCredentials({ username, password }: BrokerCredentials): void {
  if (password !== undefined && username === undefined) throw new Error("a password needs a username");
  if (username !== undefined && password === undefined) throw new Error("a username needs a password");
}

interface RunningBroker {
  readonly port: number;
  stop(): Promise<void>;
  output(): string;
}

function testBroker(
  kind: BrokerKind,
  credentials: BrokerCredentials,
  first: RunningBroker,
  launch: (port: number, credentials: BrokerCredentials) => Promise<RunningBroker>,
): TestBroker {
  let running = first;
  let current = credentials;
  const port = first.port;
  return {
    kind,
    host: HOST,
    port,
    url: `mqtt://${HOST}:${port}`,
    get username() {
      return current.username;
    },
    get password() {
      return current.password;
    },
    stop: () => running.stop(),
    restart: async (next) => {
      if (next !== undefined) checkCredentials(next);
      await running.stop();
      current = next ?? current;
      running = await launch(port, current);
    },
    output: () => running.output(),
  };
}

/* ---------------------------------------------------------------- aedes */

export async function startAedes(credentials: BrokerCredentials = {}): Promise<TestBroker> {
  checkCredentials(credentials);
  return testBroker("aedes", credentials, await launchAedes(0, credentials), launchAedes);
}

async function launchAedes(
  requestedPort: number,
  { username, password }: BrokerCredentials,
): Promise<RunningBroker> {
  // aedes 1.x: the constructor no longer sets up persistence; createBroker() awaits listen() for us.
  const broker = await Aedes.createBroker(
    username === undefined
      ? {}
      : {
          authenticate: (_client, user, pass, done) => {
            done(null, user === username && pass?.toString("utf8") === password);
          },
        },
  );
  const server = net.createServer(broker.handle);
  // net.Server.close() waits for every open socket; tracking them lets stop() cut clients off the way a dying broker would.
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(requestedPort, HOST, resolve);
    });
  } catch (error) {
    await new Promise<void>((resolve) => {
      broker.close(resolve);
    });
    throw error;
  }
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("aedes server has no TCP address");

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    const serverClosed = new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    for (const socket of sockets) socket.destroy();
    await Promise.all([
      serverClosed,
      new Promise<void>((resolve) => {
        broker.close(resolve);
      }),
    ]);
  };
  return {
    port: address.port,
    stop: () => (stopping ??= stop()),
    output: () => "",
  };
}

/* ------------------------------------------------------------ mosquitto */

export async function startMosquitto(options: MosquittoOptions = {}): Promise<TestBroker> {
  const credentials: BrokerCredentials = {
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
  };
  checkCredentials(credentials);
  const launch = (port: number, current: BrokerCredentials) =>
    options.only311 === undefined
      ? launchMosquitto(port, current, options.tls)
      : launchGated(port, options.only311, () => launchMosquitto(0, current, options.tls));
  return testBroker(
    "mosquitto",
    credentials,
    await launch(options.port ?? (await freePort()), credentials),
    launch,
  );
}

// A crashed or interrupted test run must not leave brokers holding ports behind it.
const liveProcesses = new Set<ChildProcess>();
let exitHookInstalled = false;
function killOnExit(child: ChildProcess): void {
  liveProcesses.add(child);
  child.once("exit", () => liveProcesses.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const live of liveProcesses) live.kill("SIGKILL");
  });
}

function mosquittoConfig(
  port: number,
  passwordFile: string | undefined,
  tls: MosquittoOptions["tls"],
): string {
  return [
    `listener ${port} ${HOST}`,
    ...(tls === undefined ? [] : [`certfile ${tls.certFile}`, `keyfile ${tls.keyFile}`]),
    // Like Home Assistant's Mosquitto add-on: nobody gets in without the add-on's credentials.
    `allow_anonymous ${passwordFile === undefined ? "true" : "false"}`,
    ...(passwordFile === undefined ? [] : [`password_file ${passwordFile}`]),
    "persistence false",
    // stderr, not stdout: libc block-buffers stdout into a pipe, so its log would only arrive at exit.
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    "log_type notice",
    "log_type information",
    // Started as root, mosquitto drops to the "mosquitto" user, which cannot read our 0700 temp dir.
    // Naming the current user keeps it as is; it is a no-op for everyone else.
    `user ${os.userInfo().username}`,
    "",
  ].join("\n");
}

async function launchMosquitto(
  requestedPort: number,
  { username, password }: BrokerCredentials,
  tls: MosquittoOptions["tls"],
): Promise<RunningBroker> {
  const port = requestedPort === 0 ? await freePort() : requestedPort;
  const dir = await mkdtemp(path.join(os.tmpdir(), "mqtt-aggregator-mosquitto-"));
  const removeDir = () => rm(dir, { recursive: true, force: true });
  let passwordFile: string | undefined;
  if (username !== undefined) {
    passwordFile = path.join(dir, "passwd");
    const made = spawnSync("mosquitto_passwd", ["-b", "-c", passwordFile, username, password ?? ""], {
      encoding: "utf8",
    });
    if (made.status !== 0) {
      await removeDir();
      throw new Error(
        `mosquitto_passwd failed (${String(made.status)}): ${made.stderr}${made.error?.message ?? ""}`,
      );
    }
  }
  const configFile = path.join(dir, "mosquitto.conf");
  await writeFile(configFile, mosquittoConfig(port, passwordFile, tls));

  const child = spawn("mosquitto", ["-c", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  killOnExit(child);
  let log = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (log += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (log += chunk));
  let ended = false;
  const exited = new Promise<string>((resolve) => {
    child.once("error", (error) => {
      ended = true;
      resolve(`could not start mosquitto: ${error.message}`);
    });
    // "close", not "exit": by then stdout is drained, so the log quoted in errors is complete.
    child.once("close", (code, signal) => {
      ended = true;
      resolve(`mosquitto exited (${signal ?? String(code)})`);
    });
  });
  const alive = () => !ended;

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    if (alive()) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
      await exited;
      clearTimeout(killer);
    }
    await removeDir();
  };
  const running: RunningBroker = { port, stop: () => (stopping ??= stop()), output: () => log };

  const problem = await Promise.race([
    waitForPort(port, STARTUP_TIMEOUT_MS, alive).then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    ),
    exited,
  ]);
  if (problem !== undefined || !alive()) {
    await running.stop();
    throw new Error(`${problem ?? "mosquitto exited"}; mosquitto's log:\n${log}`);
  }
  return running;
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, keepTrying: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(port))) {
    if (!keepTrying()) return;
    if (Date.now() > deadline)
      throw new Error(`nothing accepted connections on ${HOST}:${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/* ------------------------------------------------------ MQTT 3.1.1 gate */

/** The protocol level of an MQTT CONNECT at the start of `bytes` (4 for 3.1.1, 5), or undefined while incomplete. */
export function connectProtocolLevel(bytes: Buffer): number | "not connect" | undefined {
  if (bytes.length === 0) return undefined;
  if (bytes[0] !== 0x10) return "not connect";
  let at = 1;
  // The remaining length: 1 to 4 bytes, 7 bits each.
  while (at < bytes.length && at <= 4 && ((bytes[at] ?? 0) & 0x80) !== 0) at += 1;
  at += 1;
  if (at + 2 > bytes.length) return undefined;
  const nameLength = bytes.readUInt16BE(at);
  const levelAt = at + 2 + nameLength;
  return levelAt < bytes.length ? bytes[levelAt] : undefined;
}

async function launchGated(
  requestedPort: number,
  mode: "refuse" | "close",
  launchInner: () => Promise<RunningBroker>,
): Promise<RunningBroker> {
  const inner = await launchInner();
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const server = net.createServer((client) => {
    track(client);
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const level = connectProtocolLevel(buffered);
      if (level === undefined) return;
      client.off("data", onData);
      if (level === 5) {
        // What Mosquitto 1.5 answered to MQTT 5: CONNACK, return code 1.
        if (mode === "refuse") client.end(Buffer.from([0x20, 0x02, 0x00, 0x01]));
        else client.destroy();
        return;
      }
      const upstream = net.connect({ host: HOST, port: inner.port });
      track(upstream);
      upstream.write(buffered);
      client.pipe(upstream);
      upstream.pipe(client);
      client.once("close", () => upstream.destroy());
      upstream.once("close", () => client.destroy());
    };
    client.on("data", onData);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(requestedPort, HOST, resolve);
    });
  } catch (error) {
    await inner.stop();
    throw error;
  }
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the gate has no TCP address");
  let stopping: Promise<void> | undefined;
  const stop = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await Promise.all([closed, inner.stop()]);
  };
  return { port: address.port, stop: () => (stopping ??= stop()), output: () => inner.output() };
}

/* --------------------------------------------------------------- clients */

/**
 * An MQTT.js client logged in with the broker's credentials. Reconnection is off unless asked for,
 * so a refused connection rejects at once instead of retrying until the test times out.
 */
export function connectClient(broker: TestBroker, options: IClientOptions = {}): Promise<MqttClient> {
  const merged: IClientOptions = {
    ...(broker.username === undefined ? {} : { username: broker.username }),
    ...(broker.password === undefined ? {} : { password: broker.password }),
    clientId: `test-${randomUUID().slice(0, 8)}`,
    connectTimeout: 5_000,
    reconnectPeriod: 0,
    ...options,
  };
  return connectAsync(broker.url, merged, (merged.reconnectPeriod ?? 0) > 0);
}

export interface ReceivedMessage {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
}

export interface Collector {
  readonly messages: readonly ReceivedMessage[];
  /** The first message, already received or still to come, that satisfies the predicate. */
  waitFor(predicate: (message: ReceivedMessage) => boolean, timeoutMs?: number): Promise<ReceivedMessage>;
  /** The same among the messages from index `from` on: those after a step the test took. */
  waitForFrom(
    from: number,
    predicate: (message: ReceivedMessage) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedMessage>;
  /** Stops recording; the subscription itself stays. */
  stop(): void;
}

/** MQTT filter matching, including the rule that wildcards never match `$`-topics at the first level. */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split("/");
  const topicLevels = topic.split("/");
  if (topic.startsWith("$") && (filterLevels[0] === "+" || filterLevels[0] === "#")) return false;
  for (const [index, level] of filterLevels.entries()) {
    if (level === "#") return true;
    const topicLevel = topicLevels[index];
    if (topicLevel === undefined) return false;
    if (level !== "+" && level !== topicLevel) return false;
  }
  return filterLevels.length === topicLevels.length;
}

function describeMessages(messages: readonly ReceivedMessage[]): string {
  if (messages.length === 0) return "nothing";
  const shown = messages.slice(-20).map((m) => {
    const payload = m.payload.length > 200 ? `${m.payload.slice(0, 200)}…` : m.payload;
    return `  ${m.topic} ${JSON.stringify(payload)}${m.retain ? " (retained)" : ""}`;
  });
  const skipped = messages.length - shown.length;
  return `${messages.length} message(s):\n${skipped > 0 ? `  … ${skipped} earlier\n` : ""}${shown.join("\n")}`;
}

export async function collect(client: MqttClient, filter: string, qos: 0 | 1 | 2 = 1): Promise<Collector> {
  const messages: ReceivedMessage[] = [];
  const waiters = new Set<(message: ReceivedMessage) => void>();
  const onMessage = (topic: string, payload: Buffer, packet: { retain?: boolean }) => {
    if (!topicMatches(filter, topic)) return;
    const message = { topic, payload: payload.toString("utf8"), retain: packet.retain === true };
    messages.push(message);
    for (const waiter of waiters) waiter(message);
  };
  // Listening before subscribing: retained messages can arrive before subscribeAsync settles.
  client.on("message", onMessage);
  const granted = await client.subscribeAsync(filter, { qos });
  if (granted.some((grant) => grant.qos === 128)) {
    client.off("message", onMessage);
    throw new Error(`the broker refused the subscription to ${filter}`);
  }

  // Every message still to come is at an index past `from`: only those already in need the index.
  const waitForFrom = (from: number, predicate: (message: ReceivedMessage) => boolean, timeoutMs = 5_000) => {
    const already = messages.find((message, index) => index >= from && predicate(message));
    if (already !== undefined) return Promise.resolve(already);
    return new Promise<ReceivedMessage>((resolve, reject) => {
      const waiter = (message: ReceivedMessage) => {
        if (!predicate(message)) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve(message);
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(
            `no message on ${filter} matched within ${timeoutMs} ms; received ${describeMessages(messages)}`,
          ),
        );
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  const waitFor = (predicate: (message: ReceivedMessage) => boolean, timeoutMs?: number) =>
    waitForFrom(0, predicate, timeoutMs);

  return { messages, waitFor, waitForFrom, stop: () => client.off("message", onMessage) };
}
