import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { collect, connectClient, freePort, startAedes, type TestBroker } from "../support/brokers.js";
import {
  DIST_MAIN,
  assertBuilt,
  startProgram,
  stopAllPrograms,
  type ProgramExit,
} from "../support/program.js";

/** What the process itself survives: a closed stdout, and stop requests at any moment. */

const RULE = { name: "Living room temperature", topic: "home/+/temperature", function: "mean" };
const STATE_TOPIC = "mqtt_aggregator/living_room_temperature/state";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await stopAllPrograms();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(): Promise<TestBroker> {
  const started = await startAedes();
  cleanups.push(() => started.stop());
  return started;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a closed stdout", () => {
  it("does not end the process: it keeps reading and publishing, and exits 0 on SIGTERM", async () => {
    assertBuilt();
    const target = await broker();
    const dir = await mkdtemp(path.join(os.tmpdir(), "mqtt-aggregator-epipe-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const optionsPath = path.join(dir, "options.json");
    const dataDir = path.join(dir, "data");
    await mkdir(dataDir);
    // Debug: every read writes lines, so each read after the close writes into the broken pipe.
    await writeFile(
      optionsPath,
      JSON.stringify({
        log_level: "debug",
        first_read_delay: 1,
        read_interval: 1,
        rules: [RULE],
        mqtt: { host: target.host, port: target.port },
      }),
    );
    const child = spawn(process.execPath, [DIST_MAIN, "--options", optionsPath, "--data-dir", dataDir], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env["PATH"] ?? "" },
    });
    const exited = new Promise<ProgramExit>((resolve) => {
      child.once("close", (code, signal) => resolve({ code, signal, durationMs: 0 }));
    });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    // The parent goes away from the pipe after the first line, as a log collector that dies would.
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    child.stdout.destroy();

    const watcher = await connectClient(target);
    cleanups.push(() => watcher.endAsync(true));
    const states = await collect(watcher, STATE_TOPIC);
    const sensors = await connectClient(target);
    cleanups.push(() => sensors.endAsync(true));
    for (const value of ["20", "22", "24"]) {
      // Retained: the program may still be subscribing, and its log cannot say so any more.
      await sensors.publishAsync("home/th1/temperature", value, { qos: 1, retain: true });
      // Each value published means a read, with its log lines, happened since the pipe closed.
      await states.waitFor((message) => message.payload === value, 8_000);
    }
    expect(child.exitCode, stderr).toBeNull();

    child.kill("SIGTERM");
    const exit = await exited;
    expect(exit, stderr).toMatchObject({ code: 0, signal: null });
    expect(stderr).not.toMatch(/EPIPE|Error/);
  });
});

describe("stop requests", () => {
  it("SIGHUP stops like SIGTERM: readings saved, exit 0", async () => {
    const target = await broker();
    const program = await startProgram({
      options: {
        log_level: "trace",
        first_read_delay: 3600,
        read_interval: 3600,
        rules: [RULE],
        mqtt: { host: target.host, port: target.port },
      },
    });
    await program.waitForLine(/Listening to \d+ topic filter/);
    const sensors = await connectClient(target);
    cleanups.push(() => sensors.endAsync(true));
    await sensors.publishAsync("home/th1/temperature", "21.5", { qos: 1 });
    await program.waitForLine(/TRACE: Received home\/th1\/temperature/);
    // No read time has come: only the stop can have saved the reading.
    expect(existsSync(path.join(program.dataDir, "state.json"))).toBe(false);

    const exit = await program.stop("SIGHUP");
    expect(exit, program.output()).toMatchObject({ code: 0, signal: null });
    await program.waitForLine(/INFO: Received SIGHUP; stopping/, 100);
    const saved = JSON.parse(await readFile(path.join(program.dataDir, "state.json"), "utf8")) as {
      readings: { topic: string; payload: string }[];
    };
    expect(saved.readings).toEqual([
      expect.objectContaining({ topic: "home/th1/temperature", payload: "21.5" }),
    ]);
  });

  it("a SIGTERM that arrives before the program has printed anything: exit 0", async () => {
    const port = await freePort();
    const options = { rules: [RULE], mqtt: { host: "127.0.0.1", port } };
    // No program can catch a signal during Node's own start-up (some 50 ms, before any of its code
    // runs): such a run dies of the signal whatever it does. So step the delay until the first run
    // that outlives it. That run received the signal as early as a program can: it must stop with
    // exit 0, and before it has started anything, so its first line is the stop.
    for (let delayMs = 0; delayMs <= 2_000; delayMs += 10) {
      const program = await startProgram({ options });
      if (delayMs > 0) await sleep(delayMs);
      const exit = await program.stop("SIGTERM");
      if (exit.signal === "SIGTERM") {
        expect(program.lines, `died of SIGTERM after printing, at ${delayMs} ms`).toEqual([]);
        continue;
      }
      expect(exit, program.output()).toMatchObject({ code: 0, signal: null });
      expect(program.lines[0]?.text, `at ${delayMs} ms`).toMatch(/INFO: Received SIGTERM; stopping$/);
      expect(program.output()).not.toContain("starting");
      return;
    }
    throw new Error("every run died of SIGTERM");
  });
});
