import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { connectClient, startAedes, type TestBroker } from "../support/brokers.js";
import { startProgram, stopAllPrograms, type RunningProgram } from "../support/program.js";

/** The state file when saves are interrupted or fail, with the built program. */

const RULE = { name: "Living room temperature", topic: "home/+/temperature", function: "mean" };

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

function optionsFor(target: TestBroker) {
  return {
    log_level: "debug",
    first_read_delay: 1,
    read_interval: 1,
    rules: [RULE],
    mqtt: { host: target.host, port: target.port },
  };
}

const linesWith = (program: RunningProgram, text: string) =>
  program.lines.filter((line) => line.text.includes(text)).length;

/** Waits for `count` more reads than have been logged so far. */
async function readsLater(program: RunningProgram, count: number): Promise<void> {
  const target = linesWith(program, "DEBUG: Read ") + count;
  const started = Date.now();
  while (linesWith(program, "DEBUG: Read ") < target) {
    if (Date.now() - started > 15_000 || program.hasExited)
      throw new Error(`no ${count} more reads:\n${program.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("temporary files of interrupted saves", () => {
  it("are removed at the next start, and the readings are restored", async () => {
    const target = await broker();
    const first = await startProgram({ options: optionsFor(target) });
    await first.waitForLine(/Listening to \d+ topic filter/);
    const sensors = await connectClient(target);
    cleanups.push(() => sensors.endAsync(true));
    await sensors.publishAsync("home/th1/temperature", "21.5", { qos: 1 });
    await readsLater(first, 2);
    await first.kill9();
    // The kill may itself have cut a save short (a read, and its save, every second): that file
    // goes, so that the count below is of the two planted here.
    for (const name of await readdir(first.dataDir))
      if (/^state\.json\..*\.tmp$/.test(name)) await rm(path.join(first.dataDir, name));
    // What a kill -9 in the middle of two saves leaves: the file being written, never renamed.
    const leftovers = [`state.json.${randomUUID()}.tmp`, `state.json.${randomUUID()}.tmp`];
    for (const name of leftovers) await writeFile(path.join(first.dataDir, name), '{"version":1,"sav');
    await writeFile(path.join(first.dataDir, "notes.tmp"), "mine");

    const again = await startProgram({ options: optionsFor(target), dataDir: first.dataDir });
    await again.waitForLine(/INFO: Removed 2 temporary files of an interrupted save from the data folder/);
    await again.waitForLine(/Restored 1 of 1 saved readings/);
    const names = await readdir(again.dataDir);
    for (const name of leftovers) expect(names).not.toContain(name);
    expect(names).toContain("notes.tmp");
    expect(names).toContain("state.json");
    expect((await again.stop()).code).toBe(0);
  });
});

describe("a save that keeps failing", () => {
  it("is logged when it starts failing and when it works again, not at every read", async () => {
    const target = await broker();
    const program = await startProgram({ options: optionsFor(target) });
    await program.waitForLine(/Listening to \d+ topic filter/);
    const sensors = await connectClient(target);
    cleanups.push(() => sensors.endAsync(true));
    await sensors.publishAsync("home/th1/temperature", "21.5", { qos: 1 });
    const statePath = path.join(program.dataDir, "state.json");
    const started = Date.now();
    while (!existsSync(statePath) && Date.now() - started < 10_000)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(existsSync(statePath), program.output()).toBe(true);

    // A directory where state.json belongs: the rename fails even for root, whom no chmod stops.
    await rm(statePath);
    await mkdir(path.join(statePath, "in-the-way"), { recursive: true });
    await program.waitForLine(/WARNING: Cannot save the readings to .*state\.json: .*EISDIR/, 5_000);
    await readsLater(program, 4);
    expect(linesWith(program, "Cannot save the readings"), program.output()).toBe(1);

    await rm(statePath, { recursive: true });
    await program.waitForLine(/INFO: Saving the readings to .*state\.json works again/, 5_000);
    await readsLater(program, 3);
    expect(linesWith(program, "Cannot save the readings"), program.output()).toBe(1);
    expect(linesWith(program, "INFO: Saving the readings"), program.output()).toBe(1);
    expect((await program.stop()).code).toBe(0);
    expect(existsSync(statePath)).toBe(true);
  });
});
