import net from "node:net";

import mqttPacket, { type ISubscribePacket, type Packet } from "mqtt-packet";

/**
 * A broker that speaks just enough MQTT 3.1.1 to misbehave on purpose: it refuses MQTT 5 as
 * 3.1.1-only brokers do (such an attempt is not counted as a connection), accepts every other
 * CONNECT, answers PINGREQ, and answers SUBSCRIBE and QoS 1 PUBLISH as the test scripts it.
 * For faults a real broker will not produce (a malformed SUBACK, PUBACKs withheld).
 */

export interface FakeBrokerScript {
  /**
   * The bytes to answer a SUBSCRIBE with, or `undefined` to answer nothing. Default: a SUBACK
   * granting QoS 0 to every subscription.
   */
  readonly suback?: (packet: ISubscribePacket, connection: number) => Buffer | undefined;
  /** Whether to acknowledge the client's QoS 1 PUBLISH packets. Default: yes. */
  readonly puback?: boolean;
}

export interface ReceivedPacket {
  /** 1 for the first connection, 2 for the next, … */
  readonly connection: number;
  readonly packet: Packet;
}

export interface FakeMqttBroker {
  readonly host: "127.0.0.1";
  readonly port: number;
  /** Every packet the clients sent, in order. */
  readonly received: readonly ReceivedPacket[];
  /** The first packet, received or still to come, that satisfies the predicate. */
  waitFor(predicate: (received: ReceivedPacket) => boolean, timeoutMs?: number): Promise<ReceivedPacket>;
  /** Sends a packet to the most recent connection. */
  send(packet: Packet): void;
  close(): Promise<void>;
}

export const grantAll = (packet: ISubscribePacket): Buffer =>
  mqttPacket.generate({
    cmd: "suback",
    messageId: packet.messageId ?? 0,
    granted: packet.subscriptions.map(() => 0),
  });

export async function startFakeMqttBroker(script: FakeBrokerScript = {}): Promise<FakeMqttBroker> {
  const received: ReceivedPacket[] = [];
  const waiters = new Set<(entry: ReceivedPacket) => void>();
  const sockets = new Set<net.Socket>();
  let latest: net.Socket | undefined;
  let connections = 0;

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let connection = 0;
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const reply = (packet: Packet) => socket.write(mqttPacket.generate(packet));
    parser.on("packet", (packet: Packet) => {
      if (connection === 0) {
        if (packet.cmd === "connect" && packet.protocolVersion === 5) {
          socket.end(Buffer.from([0x20, 0x02, 0x00, 0x01]));
          return;
        }
        connections += 1;
        connection = connections;
        latest = socket;
      }
      const entry = { connection, packet };
      received.push(entry);
      for (const waiter of waiters) waiter(entry);
      switch (packet.cmd) {
        case "connect":
          reply({ cmd: "connack", returnCode: 0, sessionPresent: false });
          break;
        case "pingreq":
          reply({ cmd: "pingresp" });
          break;
        case "subscribe": {
          const answer = (script.suback ?? grantAll)(packet, connection);
          if (answer !== undefined) socket.write(answer);
          break;
        }
        case "unsubscribe":
          // MQTT 3.1.1's UNSUBACK has no codes; the type asks for them anyway.
          reply({ cmd: "unsuback", messageId: packet.messageId ?? 0, granted: [] });
          break;
        case "publish":
          if (packet.qos === 1 && script.puback !== false)
            reply({ cmd: "puback", messageId: packet.messageId ?? 0 });
          break;
        case "disconnect":
          socket.end();
          break;
        default:
          break;
      }
    });
    parser.on("error", () => socket.destroy());
    socket.on("data", (chunk: Buffer) => parser.parse(chunk));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fake broker has no TCP address");

  const describe = () =>
    received
      .slice(-30)
      .map(({ connection, packet }) => {
        const topic = packet.cmd === "publish" ? ` ${packet.topic}` : "";
        return `  #${connection} ${packet.cmd}${topic}`;
      })
      .join("\n");

  return {
    host: "127.0.0.1",
    port: address.port,
    received,
    waitFor: (predicate, timeoutMs = 5_000) => {
      const already = received.find(predicate);
      if (already !== undefined) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const waiter = (entry: ReceivedPacket) => {
          if (!predicate(entry)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(entry);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching packet within ${timeoutMs} ms; the last received:\n${describe()}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    send: (packet) => {
      latest?.write(mqttPacket.generate(packet));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
