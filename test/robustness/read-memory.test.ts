import { afterEach, describe, expect, it } from "vitest";
import { collect, connectClient, startAedes, type TestBroker } from "../support/brokers.js";
import { startProgram, stopAllPrograms } from "../support/program.js";

/**
 * 1,000 topics of 60 KB each under `value_path: "*"`: 0.1.0 held every payload's parsed tree at
 * once and expanded each into 5,000 readings, past 1.8 GB. Now one tree at a time is alive and a
 * payload gives at most 64 readings, so the program reads them within a 256 MB heap.
 */
const TOPICS = 1_000;
const KEYS = 5_000;

let broker: TestBroker | undefined;
afterEach(async () => {
  await stopAllPrograms();
  await broker?.stop();
});

describe("a read over huge payloads", () => {
  it("stays within a small heap and counts what it leaves out", async () => {
    broker = await startAedes();
    const program = await startProgram({
      options: {
        first_read_delay: 3,
        read_interval: 3_600,
        rules: [{ name: "Everything", topic: "huge/+", value_path: "*", function: "count" }],
        mqtt: { host: broker.host, port: broker.port },
      },
      env: { NODE_OPTIONS: "--max-old-space-size=256" },
    });
    await program.waitForLine(/Listening to/);
    const client = await connectClient(broker);
    const observer = await connectClient(broker);
    const attributes = await collect(observer, "mqtt_aggregator/everything/attributes");
    const payload = JSON.stringify(
      Object.fromEntries(Array.from({ length: KEYS }, (_, index) => [`k${index}`, index])),
    );
    expect(payload.length).toBeLessThan(65_536);
    for (let topic = 0; topic < TOPICS; topic += 1)
      await client.publishAsync(`huge/${topic}`, payload, { qos: 0 });
    await client.publishAsync("huge/last", "1", { qos: 1 });

    const message = await attributes.waitFor(() => true, 20_000);
    const parsed = JSON.parse(message.payload) as { inputs: number; left_out: number };
    expect(parsed.left_out).toBeGreaterThan(0);
    expect(parsed.inputs + parsed.left_out).toBeGreaterThan(TOPICS * 64);
    expect(program.hasExited, program.output()).toBe(false);
    await Promise.all([client.endAsync(), observer.endAsync()]);
  }, 60_000);
});
