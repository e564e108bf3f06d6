import { afterEach, describe, expect, it } from "vitest";

import {
  brokerKinds,
  collect,
  connectClient,
  startBroker,
  type BrokerKind,
  type TestBroker,
} from "../support/brokers.js";
import { mqttServiceAnswer, startFakeSupervisor, type FakeSupervisor } from "../support/fake-supervisor.js";
import { startProgram, stopAllPrograms, type RunningProgram } from "../support/program.js";

/**
 * The Supervisor's MQTT service changing under the running program: the Mosquitto add-on makes a
 * new password when its data is reset, and another broker add-on can take over the service.
 */

const SUPERVISOR_TOKEN = "supervisor-token-Rd51KcV7nQ";
const OLD_PASSWORD = "old-pw-Gt62XbL9wM";
const NEW_PASSWORD = "new-pw-Jq47HsD3vZ";
const OTHER_PASSWORD = "other-pw-Nf28PyC5kT";
const SECRETS = [SUPERVISOR_TOKEN, OLD_PASSWORD, NEW_PASSWORD, OTHER_PASSWORD];

const RULE = {
  name: "Living room temperature",
  topic: "home/tele/+/livingroom/#",
  value_path: "*.Temperature",
  function: "mean",
};
const STATE_TOPIC = "mqtt_aggregator/living_room_temperature/state";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await stopAllPrograms();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(kind: BrokerKind, password: string): Promise<TestBroker> {
  const started = await startBroker(kind, { username: "addons", password });
  cleanups.push(() => started.stop());
  return started;
}

const serviceOf = (target: TestBroker) =>
  mqttServiceAnswer({
    host: target.host,
    port: target.port,
    ssl: false,
    protocol: "3.1.1",
    username: target.username,
    password: target.password,
    addon: "core_mosquitto",
  });

async function supervisorNaming(target: TestBroker): Promise<FakeSupervisor> {
  const supervisor = await startFakeSupervisor({ token: SUPERVISOR_TOKEN, answers: [serviceOf(target)] });
  cleanups.push(() => supervisor.close());
  return supervisor;
}

function startWithSupervisor(supervisor: FakeSupervisor, args: readonly string[] = []) {
  return startProgram({
    options: { first_read_delay: 1, read_interval: 1, max_age: 600, rules: [RULE] },
    env: { SUPERVISOR_TOKEN, SUPERVISOR_URL: supervisor.url },
    args,
  });
}

/** Index of the first line matching `pattern`, for waiting on what follows it. */
function lineIndex(program: RunningProgram, pattern: RegExp): number {
  return program.lines.findIndex((line) => pattern.test(line.text));
}

/** Plays a device and Home Assistant at once: the program's state for a fresh reading arrives. */
async function expectPublishing(target: TestBroker, temperature: number): Promise<void> {
  const client = await connectClient(target);
  try {
    const status = await collect(client, "mqtt_aggregator/status");
    await status.waitFor((message) => message.payload === "online", 5_000);
    const states = await collect(client, STATE_TOPIC);
    await client.publishAsync(
      "home/tele/th1/livingroom/SENSOR",
      JSON.stringify({ AM2301: { Temperature: temperature } }),
      { qos: 1 },
    );
    await states.waitFor((message) => Number(message.payload) === temperature, 8_000);
  } finally {
    await client.endAsync(true);
  }
}

function expectNoSecrets(program: RunningProgram): void {
  const output = program.output();
  for (const secret of SECRETS) expect(output).not.toContain(secret);
}

describe.each(brokerKinds())("the MQTT service changing under the program (%s)", (kind) => {
  it("after a refused login, asks the Supervisor again and logs in with the new password", async () => {
    const target = await broker(kind, OLD_PASSWORD);
    const supervisor = await supervisorNaming(target);
    const program = await startWithSupervisor(supervisor);
    await program.waitForLine(/INFO: Listening to 1 topic filter/, 10_000);
    await expectPublishing(target, 21.5);

    // The Mosquitto add-on lost its data and made a new password for the same user.
    await target.restart({ username: "addons", password: NEW_PASSWORD });
    supervisor.script([serviceOf(target)]);
    const asked = supervisor.requests.length;
    await program.waitForLine(
      /ERROR: The MQTT broker refused the connection: .*; asking the Supervisor for the current login; retrying$/,
      10_000,
    );
    await program.waitForLine(
      new RegExp(
        `INFO: The Supervisor gives a new login for the MQTT broker at mqtt://127\\.0\\.0\\.1:${target.port} as addons; reconnecting$`,
      ),
      10_000,
    );
    const followed = lineIndex(program, /gives a new login/);
    await program.waitForLine(/INFO: Reconnected to the MQTT broker/, 10_000, followed);
    expect(supervisor.requests.length).toBeGreaterThan(asked);
    await expectPublishing(target, 22.5);
    // One line for the refusal, not one per attempt.
    expect(program.lines.filter((line) => line.text.includes("refused the connection"))).toHaveLength(1);
    expectNoSecrets(program);
  });
});

describe("a broker out of reach for long", () => {
  const kind: BrokerKind = brokerKinds().includes("mosquitto") ? "mosquitto" : "aedes";

  it("asks the Supervisor again and follows it to the broker it names now", async () => {
    const first = await broker(kind, OLD_PASSWORD);
    const second = await broker(kind, OTHER_PASSWORD);
    const supervisor = await supervisorNaming(first);
    const program = await startWithSupervisor(supervisor, ["--refresh-after-ms", "1500"]);
    await program.waitForLine(/INFO: Listening to 1 topic filter/, 10_000);

    // Another broker add-on took over the MQTT service, on another port.
    supervisor.script([serviceOf(second)]);
    await first.stop();
    await program.waitForLine(/WARNING: Lost the connection to the MQTT broker/, 8_000);
    await program.waitForLine(
      /WARNING: No connection to the MQTT broker for 2 s; asking the Supervisor where it is now$/,
      8_000,
    );
    await program.waitForLine(
      new RegExp(
        `INFO: The Supervisor now names the MQTT broker at mqtt://127\\.0\\.0\\.1:${second.port} as addons; connecting to it$`,
      ),
      8_000,
    );
    await program.waitForLine(
      new RegExp(
        `INFO: Reconnected to the MQTT broker at mqtt://127\\.0\\.0\\.1:${second.port} as addons with MQTT (5|3\\.1\\.1)$`,
      ),
      8_000,
    );
    await expectPublishing(second, 19.5);
    expectNoSecrets(program);
  });

  it("never swaps a broker set in the options for the Supervisor's", async () => {
    const target = await broker("aedes", OLD_PASSWORD);
    const elsewhere = await broker("aedes", OTHER_PASSWORD);
    const supervisor = await supervisorNaming(elsewhere);
    const program = await startProgram({
      options: {
        rules: [RULE],
        mqtt: { host: target.host, port: target.port, username: "addons", password: NEW_PASSWORD },
      },
      env: { SUPERVISOR_TOKEN, SUPERVISOR_URL: supervisor.url },
      args: ["--refresh-after-ms", "500"],
    });
    await program.waitForLine(
      /ERROR: The MQTT broker refused the connection: .*; check the username and password; retrying$/,
      8_000,
    );
    // Refused again and again, and out of reach for several refresh periods.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(supervisor.requests).toEqual([]);
    expect(program.output()).not.toMatch(/asking the Supervisor/);
    expect(program.hasExited).toBe(false);
    expectNoSecrets(program);
  });
});
