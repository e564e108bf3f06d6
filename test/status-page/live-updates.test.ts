import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StatusFeed } from "../../src/app/status-feed.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { TopicSample } from "../../src/core/topic-sample.js";
import { createLogger } from "../../src/logging/logger.js";
import { startStatusPage, type StatusPage } from "../../src/status-page/status-page.js";
import { TopicSampler } from "../../src/status-page/topic-sampler.js";
import type { Snapshot, TrialView, Update } from "../../src/status-page/wire.js";
import { connectClient, startAedes, type TestBroker } from "../support/brokers.js";
import { request } from "../support/browser.js";
import { eventually } from "../support/in-process-addon.js";
import { compile } from "../support/rules.js";

/** The status page's server in this process, fed by hand the way the add-on feeds it after each read. */

const rules = compile([
  { name: "Temperature", topic: "t/+", function: "mean", precision: 1 },
  { name: "{room} light", topic: "l/+room", function: "count_on" },
]);
const lines: string[] = [];
const log = createLogger("debug", { write: (text: string) => lines.push(text) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let broker: TestBroker;
let store: ReadingsStore;
let feed: StatusFeed;
let page: StatusPage;
let base: string;
let clock = 1_000_000;
const cleanups: (() => Promise<unknown>)[] = [];

/** A read, as the add-on does it: read the store, publish, tell the feed. */
function read(): void {
  clock += 10;
  feed.published(store.read(clock).values, clock);
}

interface StreamEvent {
  readonly event: string;
  readonly data: unknown;
}

/** The page's event stream, as EventSource would read it. */
function openStream(): Promise<{ events: StreamEvent[]; close(): void }> {
  return new Promise((resolve, reject) => {
    const events: StreamEvent[] = [];
    const sent = http.get(`${base}api/events`, (response) => {
      let buffered = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        buffered += chunk;
        let end: number;
        while ((end = buffered.indexOf("\n\n")) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
        }
      });
      resolve({ events, close: () => sent.destroy() });
    });
    sent.on("error", reject);
  });
}

beforeAll(async () => {
  broker = await startAedes();
  cleanups.push(() => broker.stop());
  store = new ReadingsStore(rules);
  feed = new StatusFeed();
  store.ingest("t/a", "20", clock);
  read();
  const started = await startStatusPage({
    listen: { host: "127.0.0.1", port: 0 },
    feed,
    store,
    rules,
    broker: { host: broker.host, port: broker.port, tls: false },
    layout: { discoveryPrefix: "homeassistant", baseTopic: "mqtt_aggregator" },
    log,
    now: () => clock,
  });
  if (started === undefined) throw new Error(`the status page did not start:\n${lines.join("")}`);
  page = started;
  cleanups.push(() => started.stop());
  base = `http://127.0.0.1:${page.address.port}/`;
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("live updates", () => {
  it("start with everything published before the page opened", async () => {
    const stream = await openStream();
    await eventually(() => stream.events.length > 0, "the snapshot");
    const snapshot = stream.events[0]?.data as Snapshot;
    expect(stream.events[0]?.event).toBe("snapshot");
    expect(snapshot.rules.map((rule) => rule.key)).toEqual(["temperature", "room_light"]);
    expect(snapshot.entities.map((entity) => [entity.key, entity.state])).toEqual([["temperature", "20.0"]]);
    expect(snapshot.now).toBe(clock);
    stream.close();
  });

  it("push at most two updates a second however often entities are published, the latest last", async () => {
    const stream = await openStream();
    await eventually(() => stream.events.length > 0, "the snapshot");
    // Fifty reads within about a second.
    for (let value = 1; value <= 50; value += 1) {
      store.ingest("t/a", String(value), clock);
      read();
      await sleep(20);
    }
    await sleep(700);
    const updates = stream.events
      .filter((event) => event.event === "update")
      .map((event) => event.data as Update);
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.length).toBeLessThanOrEqual(5);
    expect(updates.at(-1)?.entities.map((entity) => entity.state)).toEqual(["50.0"]);
    stream.close();
  });

  it("send a page that polls what changed since the last number it saw, removals too", async () => {
    const snapshot = JSON.parse((await request(`${base}api/snapshot`)).body) as Snapshot;
    store.ingest("l/kitchen", "ON", clock);
    read();
    const update = JSON.parse((await request(`${base}api/updates?after=${snapshot.seq}`)).body) as Update;
    expect(update.entities.map((entity) => entity.key).sort()).toEqual([
      "room_light__kitchen",
      "temperature",
    ]);
    const identity = update.entities.find((entity) => entity.key === "room_light__kitchen");
    expect(identity?.state).toBe("1");
    const [kitchen] = store.entities().filter((entity) => entity.entityKey === "room_light__kitchen");
    if (kitchen === undefined) throw new Error("no kitchen entity");
    feed.retired([kitchen]);
    const after = JSON.parse((await request(`${base}api/updates?after=${update.seq}`)).body) as Update;
    expect(after).toMatchObject({ entities: [], removed: ["room_light__kitchen"] });
    expect((await request(`${base}api/updates?after=x`)).status).toBe(400);
  });
});

describe("the rule tester's sample", () => {
  it("fills from the broker's retained messages once the tester asks", async () => {
    const client = await connectClient(broker);
    await client.publishAsync("z/plug/SENSOR", JSON.stringify({ ENERGY: { Power: 12 } }), {
      retain: true,
      qos: 1,
    });
    const trial = async () =>
      JSON.parse(
        (await request(`${base}api/tester?topic=${encodeURIComponent("z/+/SENSOR")}&value_path=ENERGY.Power`))
          .body,
      ) as TrialView;
    let found: TrialView | undefined;
    await eventually(
      () => {
        void trial().then((result) => (found = result));
        return found?.ok === true && found.matched === 1;
      },
      "the retained topic in the tester",
      8_000,
    );
    expect(found).toMatchObject({
      ok: true,
      matches: [{ topic: "z/plug/SENSOR", readings: [{ kind: "number", value: "12" }] }],
      sampling: { active: true },
    });
    // Also the topics the rules read, which need not be retained.
    expect(found?.ok === true && found.sampling.topics).toBeGreaterThanOrEqual(2);
    await client.endAsync();
  });

  it("stops sampling and forgets the sample once the tester is no longer used", async () => {
    const sample = new TopicSample();
    const said: string[] = [];
    const sampler = new TopicSampler({
      broker: { host: broker.host, port: broker.port, tls: false },
      sample,
      log: { info: (line) => said.push(line), warn: (line) => said.push(line) },
      now: () => clock,
      known: () => [],
      lingerMs: 500,
    });
    sampler.keepAlive();
    await eventually(() => sample.get("z/plug/SENSOR") !== undefined, "the retained topic in the sample");
    expect(sampler.state.active).toBe(true);
    await eventually(() => !sampler.state.active, "sampling to stop", 3_000);
    expect(sample.size).toBe(0);
    expect(said).toEqual([
      "Sampling every topic on the broker for the rule tester, until 0.5 s after it was last used",
      "Stopped sampling the broker's topics for the rule tester",
    ]);
    await sampler.stop();
  });
});
