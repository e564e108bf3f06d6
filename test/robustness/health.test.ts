import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { startAedes, type TestBroker } from "../support/brokers.js";
import { runHealthCheck } from "../support/health-check.js";
import { startProgram, stopAllPrograms, type RunningProgram } from "../support/program.js";

/**
 * The heartbeat the image's HEALTHCHECK reads, written by the built program: unhealthy after a
 * long broker outage (so the Supervisor restarts the add-on), healthy while the add-on works even
 * if its data folder does not, and logged when it cannot be written. The hidden timing flags turn
 * minutes into seconds.
 */

const RULE = { name: "Living room temperature", topic: "home/tele/+/livingroom/#", function: "mean" };
const FAST_BEAT = ["--heartbeat-interval-ms", "100"];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await stopAllPrograms();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function aedes(): Promise<TestBroker> {
  const broker = await startAedes();
  cleanups.push(() => broker.stop());
  return broker;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mqtt-aggregator-health-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function heartbeat(program: RunningProgram): Promise<string> {
  return readFile(program.heartbeatFile, "utf8").catch(() => "");
}

async function eventuallyHeartbeat(program: RunningProgram, pattern: RegExp, timeoutMs = 5_000) {
  const started = Date.now();
  let last = await heartbeat(program);
  while (!pattern.test(last)) {
    if (Date.now() - started > timeoutMs)
      throw new Error(
        `the heartbeat never matched ${pattern}; it says ${JSON.stringify(last)}:\n${program.output()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await heartbeat(program);
  }
}

const count = (program: RunningProgram, pattern: RegExp) =>
  program.lines.filter((line) => pattern.test(line.text)).length;

describe("the heartbeat", () => {
  it("turns unhealthy after minutes without the broker, and healthy once it is back", async () => {
    const broker = await aedes();
    await broker.stop();
    const program = await startProgram({
      options: { rules: [RULE], mqtt: { host: broker.host, port: broker.port } },
      args: [...FAST_BEAT, "--unhealthy-after-ms", "1500"],
    });
    await eventuallyHeartbeat(program, /^healthy \d{4}-/);
    expect(runHealthCheck(program.heartbeatFile)).toBe(0);

    await program.waitForLine(
      /ERROR: Unhealthy: no connection to the MQTT broker for \d+ s; the health check reports it, so that the Supervisor's watchdog restarts the add-on$/,
      8_000,
    );
    await eventuallyHeartbeat(program, /^unhealthy \S+ no connection to the MQTT broker for \d+ s\n$/);
    expect(runHealthCheck(program.heartbeatFile)).not.toBe(0);

    await broker.restart();
    await program.waitForLine(/INFO: Healthy again: the health check reports it$/, 15_000);
    await eventuallyHeartbeat(program, /^healthy /);
    expect(runHealthCheck(program.heartbeatFile)).toBe(0);
    expect(count(program, /Unhealthy:/)).toBe(1);
  });

  it("stays healthy while the data folder cannot be written, because it lives elsewhere", async () => {
    const broker = await aedes();
    const program = await startProgram({
      options: {
        first_read_delay: 1,
        read_interval: 1,
        rules: [RULE],
        mqtt: { host: broker.host, port: broker.port },
      },
      args: FAST_BEAT,
    });
    await program.waitForLine(/INFO: Listening to 1 topic filter/, 8_000);
    // Nothing can be written under the data folder any more: it is a file now.
    await rm(program.dataDir, { recursive: true, force: true });
    await writeFile(program.dataDir, "");
    await program.waitForLine(/WARNING: Cannot save the readings to /, 5_000);
    await eventuallyHeartbeat(program, /^healthy /);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runHealthCheck(program.heartbeatFile)).toBe(0);
    expect(count(program, /heartbeat/)).toBe(0);
  });

  it("that cannot be written is logged once, and once more when it can be again", async () => {
    const broker = await aedes();
    const dir = await tempDir();
    // A file where the heartbeat's folder should be: every write fails.
    const blocker = join(dir, "blocker");
    await writeFile(blocker, "");
    const program = await startProgram({
      options: { rules: [RULE], mqtt: { host: broker.host, port: broker.port } },
      heartbeatFile: join(blocker, "heartbeat"),
      args: FAST_BEAT,
    });
    await program.waitForLine(
      /WARNING: Cannot write the health-check heartbeat .*blocker\/heartbeat \(.*\); the health check will report the add-on unhealthy$/,
    );
    // Many beats later, still one line.
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(count(program, /Cannot write the health-check heartbeat/)).toBe(1);

    await rm(blocker);
    await program.waitForLine(/INFO: The health-check heartbeat .*blocker\/heartbeat is written again$/);
    await eventuallyHeartbeat(program, /^healthy /);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(count(program, /Cannot write the health-check heartbeat/)).toBe(1);
    expect(count(program, /is written again/)).toBe(1);
  });
});
