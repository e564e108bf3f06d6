import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatState } from "../../src/homeassistant/discovery-payloads.js";
import { collect, connectClient, startAedes, type TestBroker } from "../support/brokers.js";
import { eventually, startInProcessAddon, type InProcessAddon } from "../support/in-process-addon.js";

const number = (value: number) => ({ kind: "number", value }) as const;

describe("formatState", () => {
  it("never publishes a signed zero, with or without precision", () => {
    expect(formatState(number(-0.04), 1)).toBe("0.0");
    expect(formatState(number(-0.4), 0)).toBe("0");
    expect(formatState(number(-0.004), 2)).toBe("0.00");
    expect(formatState(number(-0), 3)).toBe("0.000");
    expect(formatState(number(-0), undefined)).toBe("0");
    expect(formatState(number(-1e-300), undefined)).toBe("-1e-300");
  });

  it("keeps the sign of what is not zero", () => {
    expect(formatState(number(-0.05), 1)).toBe("-0.1");
    expect(formatState(number(-0.04), 2)).toBe("-0.04");
    expect(formatState(number(-0.04), undefined)).toBe("-0.04");
    expect(formatState(number(-21.400000000000002), undefined)).toBe("-21.4");
  });
});

describe("a mean that rounds to zero from below, through a broker", () => {
  let broker: TestBroker;
  let running: InProcessAddon;

  beforeAll(async () => {
    broker = await startAedes();
    running = await startInProcessAddon(broker, {
      first_read_delay: 3600,
      read_interval: 3600,
      rules: [
        { name: "Outside", topic: "outside/+/temperature", function: "mean", precision: 1 },
        { name: "Outside raw", topic: "outside/+/temperature", function: "mean" },
      ],
    });
    await eventually(() => running.lines.some((line) => line.includes("Listening to")), "the add-on");
  });

  afterAll(async () => {
    await running.stop();
    await broker.stop();
  });

  it("is published as 0.0, not -0.0", async () => {
    const client = await connectClient(broker);
    const states = await collect(client, "mqtt_aggregator/+/state");
    await client.publishAsync("outside/north/temperature", "-0.03", { qos: 1 });
    await client.publishAsync("outside/south/temperature", "-0.05", { qos: 1 });
    await eventually(() => running.addon.store.snapshot().length === 2, "both readings");
    await running.addon.readNow();
    const rounded = await states.waitFor((message) => message.topic === "mqtt_aggregator/outside/state");
    expect(rounded.payload).toBe("0.0");
    const raw = await states.waitFor((message) => message.topic === "mqtt_aggregator/outside_raw/state");
    expect(raw.payload).toBe("-0.04");
    await client.endAsync();
  });
});
