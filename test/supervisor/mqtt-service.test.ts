import { afterEach, describe, expect, it } from "vitest";

import {
  discoverMqttBroker,
  fetchMqttService,
  MAX_RETRY_MS,
  type DiscoveryLog,
} from "../../src/supervisor/mqtt-service.js";
import { freePort } from "../support/brokers.js";
import {
  mqttServiceAnswer,
  startFakeSupervisor,
  supervisorError,
  type FakeAnswer,
  type FakeSupervisor,
  type FakeSupervisorOptions,
} from "../support/fake-supervisor.js";

const TOKEN = "supervisor-token-5f2c9e";
const PASSWORD = "mosquitto-password-81ab3d";

const CORE_MOSQUITTO = {
  host: "core-mosquitto",
  port: 1883,
  ssl: false,
  protocol: "3.1.1",
  username: "addons",
  password: PASSWORD,
  addon: "core_mosquitto",
};
const FOUND = mqttServiceAnswer(CORE_MOSQUITTO);
const NOT_ENABLED = supervisorError(400, "Service not enabled");

const supervisors: FakeSupervisor[] = [];
async function supervisor(options: FakeSupervisorOptions = {}): Promise<FakeSupervisor> {
  const started = await startFakeSupervisor({ token: TOKEN, ...options });
  supervisors.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.close()));
});

function capturedLog() {
  const lines: { level: keyof DiscoveryLog; msg: string }[] = [];
  const log: DiscoveryLog = {
    info: (msg) => lines.push({ level: "info", msg }),
    warn: (msg) => lines.push({ level: "warn", msg }),
    error: (msg) => lines.push({ level: "error", msg }),
  };
  return { log, lines };
}

/** Records the backoff instead of waiting it out, but still honours an abort like the real sleep. */
function instantSleep() {
  const waits: number[] = [];
  const sleep = (ms: number, signal?: AbortSignal) => {
    waits.push(ms);
    signal?.throwIfAborted();
    return Promise.resolve();
  };
  return { sleep, waits };
}

async function fetchOnce(answers: readonly FakeAnswer[], token = TOKEN) {
  const fake = await supervisor({ answers });
  return fetchMqttService({ url: fake.url, token });
}

describe("fetchMqttService", () => {
  it("returns the broker from a good answer, asking with the token", async () => {
    const fake = await supervisor({ answers: [FOUND] });
    const result = await fetchMqttService({ url: `${fake.url}/`, token: TOKEN });

    expect(result).toEqual({
      kind: "found",
      broker: {
        host: "core-mosquitto",
        port: 1883,
        ssl: false,
        protocol: "3.1.1",
        username: "addons",
        password: PASSWORD,
      },
    });
    expect(fake.requests).toEqual([
      { method: "GET", path: "/services/mqtt", authorization: `Bearer ${TOKEN}` },
    ]);
  });

  it("defaults ssl to false and leaves absent credentials absent", async () => {
    const result = await fetchOnce([mqttServiceAnswer({ host: "broker.lan", port: 1884 })]);
    expect(result).toEqual({ kind: "found", broker: { host: "broker.lan", port: 1884, ssl: false } });
  });

  it("calls 400 'Service not enabled' not-ready", async () => {
    expect(await fetchOnce([NOT_ENABLED])).toEqual({
      kind: "not-ready",
      detail: "Supervisor answered 400: Service not enabled",
    });
  });

  it("calls a 5xx not-ready", async () => {
    expect(await fetchOnce([{ status: 502, body: "502: Bad Gateway" }])).toEqual({
      kind: "not-ready",
      detail: "Supervisor answered 502: Bad Gateway",
    });
  });

  it("calls 403 denied and names the missing permission", async () => {
    const result = await fetchOnce([supervisorError(403, "Not allowed to access mqtt")]);
    expect(result.kind).toBe("denied");
    expect(result).toHaveProperty("detail", expect.stringContaining('"services: [mqtt:need]"'));
  });

  it("calls a wrong token denied, and the fake saw the token that was sent", async () => {
    const fake = await supervisor({ answers: [FOUND] });
    const result = await fetchMqttService({ url: fake.url, token: "not-the-token" });

    expect(result.kind).toBe("denied");
    expect(result).toHaveProperty(
      "detail",
      expect.stringMatching(/^Supervisor answered 401: Unauthorized; /),
    );
    expect(fake.requests.map((r) => r.authorization)).toEqual(["Bearer not-the-token"]);
  });

  it("calls a 200 that is not JSON invalid, without quoting the body", async () => {
    const result = await fetchOnce([
      { status: 200, body: `{"result":"ok","data":{"password":"${PASSWORD}"` },
    ]);
    expect(result).toEqual({
      kind: "invalid",
      detail: "Supervisor answered 200 with a body that is not JSON",
    });
  });

  it("calls a 200 with the wrong shape invalid and says which field", async () => {
    const result = await fetchOnce([mqttServiceAnswer({ ...CORE_MOSQUITTO, port: "1883", password: 42 })]);
    expect(result.kind).toBe("invalid");
    expect(result).toHaveProperty("detail", expect.stringMatching(/data\.port: .*data\.password: /));
  });

  it("calls an unexpected status invalid", async () => {
    expect((await fetchOnce([{ status: 404, body: "404: Not Found" }])).kind).toBe("invalid");
  });

  it("calls a refused connection not-ready", async () => {
    const port = await freePort();
    const result = await fetchMqttService({ url: `http://127.0.0.1:${port}`, token: TOKEN });
    expect(result).toEqual({
      kind: "not-ready",
      detail: `could not reach the Supervisor at http://127.0.0.1:${port} (ECONNREFUSED)`,
    });
  });

  it("calls a Supervisor that does not answer in time not-ready", async () => {
    const fake = await supervisor({ answers: () => new Promise<FakeAnswer>(() => undefined) });
    const result = await fetchMqttService({ url: fake.url, token: TOKEN, timeoutMs: 100 });
    expect(result).toEqual({
      kind: "not-ready",
      detail: `the Supervisor at ${fake.url} did not answer within 0.1 s`,
    });
  });

  it("never repeats the token, even when the Supervisor echoes it", async () => {
    const result = await fetchOnce([supervisorError(400, `bad token ${TOKEN}`)]);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });
});

describe("discoverMqttBroker", () => {
  it("waits out 'Service not enabled' with one warning and a growing backoff", async () => {
    const fake = await supervisor({ answers: [NOT_ENABLED, NOT_ENABLED, FOUND] });
    const { log, lines } = capturedLog();
    const { sleep, waits } = instantSleep();

    const broker = await discoverMqttBroker({ url: fake.url, token: TOKEN, log, sleep });

    expect(broker).toMatchObject({ host: "core-mosquitto", port: 1883, username: "addons" });
    expect(fake.requests).toHaveLength(3);
    expect(waits).toEqual([1000, 2000]);
    expect(lines).toEqual([
      {
        level: "warn",
        msg: "Mosquitto is not running yet (Supervisor answered 400: Service not enabled); retrying",
      },
      { level: "info", msg: "MQTT broker found via the Supervisor: core-mosquitto:1883 (user addons)" },
    ]);
  });

  it("caps the backoff at 30 s", async () => {
    const fake = await supervisor({ answers: [...Array<FakeAnswer>(7).fill(NOT_ENABLED), FOUND] });
    const { log } = capturedLog();
    const { sleep, waits } = instantSleep();
    await discoverMqttBroker({ url: fake.url, token: TOKEN, log, sleep });
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  it("logs a refusal as an error, once, and keeps asking slowly", async () => {
    const denied = supervisorError(403, "Not allowed to access mqtt");
    const fake = await supervisor({ answers: [denied, denied, FOUND] });
    const { log, lines } = capturedLog();
    const { sleep, waits } = instantSleep();

    await discoverMqttBroker({ url: fake.url, token: TOKEN, log, sleep });

    expect(waits).toEqual([MAX_RETRY_MS, MAX_RETRY_MS]);
    expect(lines.map((l) => l.level)).toEqual(["error", "info"]);
    expect(lines[0]?.msg).toMatch(
      /^The Supervisor refused to say where the MQTT broker is \(Supervisor answered 403: /,
    );
    expect(lines[0]?.msg).toContain("services: [mqtt:need]");
  });

  it("logs again when the situation changes", async () => {
    const fake = await supervisor({
      answers: [
        NOT_ENABLED,
        { status: 200, body: "<html>" },
        { status: 200, body: "<html>" },
        NOT_ENABLED,
        FOUND,
      ],
    });
    const { log, lines } = capturedLog();
    await discoverMqttBroker({ url: fake.url, token: TOKEN, log, sleep: instantSleep().sleep });
    expect(lines.map((l) => l.level)).toEqual(["warn", "error", "warn", "info"]);
  });

  it("never logs the token or the password", async () => {
    const fake = await supervisor({
      // Alternating kinds, so that every answer gets its own log line.
      answers: [
        { status: 401, body: "401: Unauthorized" },
        mqttServiceAnswer({ ...CORE_MOSQUITTO, port: PASSWORD }),
        supervisorError(400, `Service not enabled for ${TOKEN}`),
        { status: 200, body: `{"data":{"password":"${PASSWORD}"` },
        supervisorError(500, "boom"),
        FOUND,
      ],
    });
    const { log, lines } = capturedLog();
    const broker = await discoverMqttBroker({
      url: fake.url,
      token: TOKEN,
      log,
      sleep: instantSleep().sleep,
    });

    expect(broker.password).toBe(PASSWORD);
    expect(lines.map((l) => l.level)).toEqual(["error", "error", "warn", "error", "warn", "info"]);
    for (const { msg } of lines) {
      expect(msg).not.toContain(TOKEN);
      expect(msg).not.toContain(PASSWORD);
    }
  });

  it("ends promptly when aborted during a backoff", async () => {
    const fake = await supervisor({ answers: [NOT_ENABLED] });
    const { log, lines } = capturedLog();
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => {
      controller.abort();
    }, 50);

    // The real sleep: the first backoff is a whole second, so finishing well before that proves the abort cut it short.
    await expect(
      discoverMqttBroker({ url: fake.url, token: TOKEN, log, signal: controller.signal }),
    ).rejects.toMatchObject({ name: "AbortError" });
    expect(Date.now() - started).toBeLessThan(900);
    expect(lines.map((l) => l.level)).toEqual(["warn"]);
  });

  it("ends promptly when aborted while the Supervisor is not answering", async () => {
    const fake = await supervisor({ answers: () => new Promise<FakeAnswer>(() => undefined) });
    const { log, lines } = capturedLog();
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 50);

    await expect(
      discoverMqttBroker({ url: fake.url, token: TOKEN, log, signal: controller.signal }),
    ).rejects.toMatchObject({ name: "AbortError" });
    expect(lines).toEqual([]);
  });

  it("treats an unreachable Supervisor as not ready", async () => {
    const port = await freePort();
    const { log, lines } = capturedLog();
    const controller = new AbortController();
    const { waits } = instantSleep();
    const sleep = (ms: number, signal?: AbortSignal) => {
      waits.push(ms);
      if (waits.length === 3) controller.abort();
      signal?.throwIfAborted();
      return Promise.resolve();
    };

    await expect(
      discoverMqttBroker({
        url: `http://127.0.0.1:${port}`,
        token: TOKEN,
        log,
        sleep,
        signal: controller.signal,
      }),
    ).rejects.toMatchObject({ name: "AbortError" });
    expect(lines).toEqual([
      {
        level: "warn",
        msg: `Mosquitto is not running yet (could not reach the Supervisor at http://127.0.0.1:${port} (ECONNREFUSED)); retrying`,
      },
    ]);
  });
});
