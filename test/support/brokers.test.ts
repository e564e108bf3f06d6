import type { MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  brokerKinds,
  collect,
  connectClient,
  startAedes,
  startBroker,
  topicMatches,
  type TestBroker,
} from "./brokers.js";

const clients: MqttClient[] = [];
async function connect(broker: TestBroker, options: Parameters<typeof connectClient>[1] = {}) {
  const client = await connectClient(broker, options);
  clients.push(client);
  return client;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
});

function nextEvent(client: MqttClient, event: "connect" | "close", timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    client.once(event, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe.each(brokerKinds())("%s test broker", (kind) => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker(kind);
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("listens on loopback and round-trips a message", async () => {
    expect(broker.kind).toBe(kind);
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    if (kind === "mosquitto") expect(broker.output()).toMatch(/mosquitto version .* running/);
    const subscriber = await connect(broker);
    const inbox = await collect(subscriber, "roundtrip/#");
    const publisher = await connect(broker);
    await publisher.publishAsync("roundtrip/a", "hello", { qos: 1 });
    await publisher.publishAsync("elsewhere", "ignored", { qos: 1 });

    const message = await inbox.waitFor((m) => m.payload === "hello");
    expect(message).toEqual({ topic: "roundtrip/a", payload: "hello", retain: false });
  });

  it("keeps a retained message for a client that connects later", async () => {
    const publisher = await connect(broker);
    await publisher.publishAsync("retained/state", "on", { qos: 1, retain: true });
    await publisher.endAsync();

    const later = await connect(broker);
    const inbox = await collect(later, "retained/+");
    expect(await inbox.waitFor((m) => m.topic === "retained/state")).toEqual({
      topic: "retained/state",
      payload: "on",
      retain: true,
    });
  });

  it("restarts on the same port and a reconnecting client comes back", async () => {
    const own = await startBroker(kind);
    try {
      const port = own.port;
      const survivor = await connect(own, { reconnectPeriod: 100 });
      const inbox = await collect(survivor, "after/restart");
      const closed = nextEvent(survivor, "close", 5_000);
      const reconnected = closed.then(() => nextEvent(survivor, "connect", 10_000));

      await own.restart();
      await closed;
      await reconnected;
      expect(own.port).toBe(port);

      // Retained, so it reaches the survivor whether its automatic resubscription lands before or after.
      const publisher = await connect(own);
      await publisher.publishAsync("after/restart", "back", { qos: 1, retain: true });
      expect((await inbox.waitFor((m) => m.payload === "back")).topic).toBe("after/restart");
    } finally {
      await own.stop();
    }
  });

  it("rejects a wrong password when started with credentials", async () => {
    const secured = await startBroker(kind, { username: "addons", password: "right-password" });
    try {
      expect(secured.username).toBe("addons");
      const good = await connect(secured);
      expect(good.connected).toBe(true);
      await expect(connectClient(secured, { password: "wrong-password" })).rejects.toThrow(/not authorized/i);
      await expect(connectClient({ ...secured, username: "nobody" })).rejects.toThrow(/not authorized/i);
    } finally {
      await secured.stop();
    }
  });

  it("stop() disconnects clients", async () => {
    const own = await startBroker(kind);
    const client = await connect(own);
    const closed = nextEvent(client, "close", 5_000);
    await own.stop();
    await closed;
    await expect(connectClient(own)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe("collect", () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startAedes();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("says what it did receive when nothing matches in time", async () => {
    const client = await connect(broker);
    const inbox = await collect(client, "collect/#");
    await client.publishAsync("collect/one", "first", { qos: 1 });
    await inbox.waitFor((m) => m.payload === "first");

    await expect(inbox.waitFor((m) => m.payload === "never", 100)).rejects.toThrow(
      /no message on collect\/# matched within 100 ms; received 1 message\(s\):\n {2}collect\/one "first"/,
    );
  });
});

describe("topicMatches", () => {
  it.each([
    ["a/+/c", "a/b/c", true],
    ["a/#", "a", true],
    ["a/#", "a/b/c", true],
    ["a/+", "a/b/c", false],
    ["a/b", "a/b/c", false],
    ["#", "$SYS/broker", false],
    ["+/broker", "$SYS/broker", false],
    ["$SYS/#", "$SYS/broker", true],
  ])("%s against %s is %s", (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe("brokerKinds", () => {
  it("fails rather than narrows the matrix on CI when mosquitto is missing", () => {
    expect(() => brokerKinds({ PATH: "", CI: "true" })).toThrow(/CI=true requires the Mosquitto test suites/);
  });

  it("falls back to aedes alone outside CI", () => {
    expect(brokerKinds({ PATH: "" })).toEqual(["aedes"]);
  });
});
