import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { collect, connectClient, freePort, startAedes, type TestBroker } from "../support/brokers.js";
import { startFakeSupervisor, supervisorError, type FakeSupervisor } from "../support/fake-supervisor.js";
import { DIST_MAIN, startProgram, stopAllPrograms, type RunningProgram } from "../support/program.js";

/** Start-up and shutdown of the built program where one broker, or none, is enough. */

const SUPERVISOR_TOKEN = "supervisor-token-Lp61QwE8zR";
const PASSWORD = "options-pw-Vb38NcT5uJ";
const NUMERIC_PASSWORD = 73019284651;

const RULE = { name: "Living room temperature", topic: "home/tele/+/livingroom/#", function: "mean" };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await stopAllPrograms();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function expectNoStackTrace(program: RunningProgram): void {
  expect(
    program.lines.filter((line) => line.text.startsWith("    at ")),
    program.output(),
  ).toEqual([]);
}

function expectNoSecrets(program: RunningProgram, secrets: readonly string[]): void {
  const output = program.output();
  for (const secret of secrets) expect(output).not.toContain(secret);
}

/** The program's problem lines: everything after `ERROR: ` but the heading. */
function problemLines(program: RunningProgram): string[] {
  return program.lines
    .map((line) => /\] ERROR: (.*)$/.exec(line.text)?.[1])
    .filter((text): text is string => text !== undefined && !text.startsWith("The options are not valid"));
}

beforeAll(() => {
  expect(existsSync(DIST_MAIN), `${DIST_MAIN} is missing: run npm run build`).toBe(true);
});

describe("the data folder", () => {
  it("is made at start when it is missing, and the readings are saved in it", async () => {
    const broker = await startAedes();
    cleanups.push(() => broker.stop());
    const parent = await mkdtemp(path.join(os.tmpdir(), "mqtt-aggregator-data-"));
    cleanups.push(() => rm(parent, { recursive: true, force: true }));
    const dataDir = path.join(parent, "not", "there", "yet");
    const program = await startProgram({
      options: { rules: [RULE], mqtt: { host: broker.host, port: broker.port } },
      dataDir,
      createDataDir: false,
    });
    await program.waitForLine(/INFO: Connected to the MQTT broker/, 10_000);
    expect((await program.stop()).code, program.output()).toBe(0);
    expect(existsSync(path.join(dataDir, "state.json"))).toBe(true);
  });

  it("that cannot be made is an error at start, in one line", async () => {
    const parent = await mkdtemp(path.join(os.tmpdir(), "mqtt-aggregator-data-"));
    cleanups.push(() => rm(parent, { recursive: true, force: true }));
    const file = path.join(parent, "a-file");
    await writeFile(file, "not a folder");
    const program = await startProgram({
      options: { rules: [RULE] },
      dataDir: path.join(file, "data"),
      createDataDir: false,
    });
    expect((await program.exited).code, program.output()).toBe(1);
    await program.waitForLine(/ERROR: Cannot create the data folder .*a-file\/data: /, 100);
    expectNoStackTrace(program);
  });
});

describe("invalid options", () => {
  it("exits 1 with one line per problem and no stack trace", async () => {
    const program = await startProgram({
      options: {
        log_level: "loud",
        read_interval: 0,
        rules: [{ ...RULE, function: "average" }],
        mqtt: { host: "127.0.0.1", password: NUMERIC_PASSWORD },
      },
    });
    const exit = await program.exited;
    expect(exit.code, program.output()).toBe(1);
    expect(exit.durationMs).toBeLessThan(5_000);
    await program.waitForLine(/ERROR: The options are not valid \(4 problems\):/, 100);
    expect(problemLines(program).sort()).toEqual([
      "log_level: expected one of trace, debug, info, warning, error",
      "mqtt.password: expected string",
      "read_interval: must be at least 1",
      'rules[0] "Living room temperature".function: expected one of mean, median, min, max, sum, count, range, stdev, last, all, any, none, count_on, formula',
    ]);
    expectNoStackTrace(program);
    expectNoSecrets(program, [String(NUMERIC_PASSWORD)]);
  });

  it("reports a rule Home Assistant would refuse, naming the field", async () => {
    const program = await startProgram({
      options: { rules: [{ ...RULE, unit: "%", device_class: "temperature" }] },
    });
    expect((await program.exited).code, program.output()).toBe(1);
    expect(problemLines(program)).toEqual([
      expect.stringMatching(
        /^rules\[0\] "Living room temperature"\.unit: device_class temperature takes unit/,
      ),
    ]);
    expectNoStackTrace(program);
  });

  it("exits 1 on a file that is not JSON, in one line", async () => {
    const program = await startProgram({ options: `{"rules": [` });
    expect((await program.exited).code, program.output()).toBe(1);
    expect(problemLines(program)).toEqual([
      expect.stringMatching(/^The options file .*options\.json is not valid JSON/),
    ]);
    expectNoStackTrace(program);
  });

  it("does not quote the text around a JSON error, which may be a password", async () => {
    const program = await startProgram({ options: `{"mqtt": {"host": "x",\n  "password": hunter2SECRET}}` });
    expect((await program.exited).code, program.output()).toBe(1);
    expect(problemLines(program)).toEqual([
      expect.stringMatching(
        /^The options file .*options\.json is not valid JSON( \(line \d+, column \d+\))?$/,
      ),
    ]);
    expectNoSecrets(program, ["hunter2"]);
  });
});

describe("stopping", () => {
  let supervisor: FakeSupervisor;
  beforeAll(async () => {
    // A Supervisor whose Mosquitto never comes up.
    supervisor = await startFakeSupervisor({
      token: SUPERVISOR_TOKEN,
      answers: [supervisorError(400, "Service not enabled")],
    });
    return () => supervisor.close();
  });

  it("exits 0 at once on SIGTERM while start-up still waits for Mosquitto", async () => {
    const program = await startProgram({
      options: { log_level: "trace", rules: [RULE] },
      env: { SUPERVISOR_TOKEN, SUPERVISOR_URL: supervisor.url },
    });
    await program.waitForLine(
      /WARNING: Mosquitto is not running yet \(Supervisor answered 400: Service not enabled\)/,
    );
    // Past the first retry, so SIGTERM lands in a backoff.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const exit = await program.stop("SIGTERM");
    expect(exit, program.output()).toMatchObject({ code: 0, signal: null });
    expect(exit.durationMs).toBeLessThan(1_000);
    await program.waitForLine(/INFO: Received SIGTERM; stopping/, 100);
    await program.waitForLine(/INFO: Stopped$/, 100);
    expect(supervisor.requests.length).toBeGreaterThanOrEqual(2);
    // One warning for a situation that lasts, not one per retry.
    expect(program.lines.filter((line) => line.text.includes("Mosquitto is not running yet"))).toHaveLength(
      1,
    );
    expectNoStackTrace(program);
    expectNoSecrets(program, [SUPERVISOR_TOKEN]);
  });

  it("exits 0 on SIGTERM while the broker cannot be reached", async () => {
    const port = await freePort();
    const program = await startProgram({
      options: {
        log_level: "trace",
        first_read_delay: 1,
        read_interval: 1,
        rules: [RULE],
        mqtt: { host: "127.0.0.1", port, username: "aggregator", password: PASSWORD },
      },
    });
    await program.waitForLine(
      new RegExp(
        `WARNING: Cannot reach the MQTT broker at mqtt://127\\.0\\.0\\.1:${port} as aggregator: .*ECONNREFUSED`,
      ),
    );
    // A read comes and goes with nobody to publish to.
    await program.waitForLine(/DEBUG: Read 1 derived value/, 3_000);
    const exit = await program.stop("SIGTERM");
    expect(exit, program.output()).toMatchObject({ code: 0, signal: null });
    expect(exit.durationMs).toBeLessThan(5_000);
    expectNoStackTrace(program);
    expectNoSecrets(program, [PASSWORD]);
  });

  it("leaves offline behind through the broker when it is killed without warning", async () => {
    const broker: TestBroker = await startAedes({ username: "aggregator", password: PASSWORD });
    cleanups.push(() => broker.stop());
    const program = await startProgram({
      options: {
        rules: [RULE],
        mqtt: { host: broker.host, port: broker.port, username: "aggregator", password: PASSWORD },
      },
    });
    await program.waitForLine(/INFO: Connected to the MQTT broker/, 5_000);
    const client = await connectClient(broker);
    cleanups.push(() => client.endAsync(true));
    const status = await collect(client, "mqtt_aggregator/status");
    await status.waitFor((message) => message.payload === "online");

    const exit = await program.kill9();
    expect(exit.signal).toBe("SIGKILL");
    // The last will, set when connecting, is what Home Assistant sees when nothing else is said.
    await status.waitFor((message) => message.payload === "offline", 5_000);
    expectNoSecrets(program, [PASSWORD]);
  });
});
