import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StateFile } from "../../src/persistence/state-file.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mqtt-aggregator-state-"));
  dirs.push(dir);
  return dir;
}

const STATE = {
  readings: [{ topic: "home/th1/temperature", payload: "21.5", receivedAt: 1_700_000_000_000 }],
  entityKeys: [],
  shownEntities: [],
};

describe("the state file", () => {
  it("saves completely and leaves only state.json behind", async () => {
    const dir = await dataDir();
    const file = new StateFile(dir);
    await file.save(STATE, 1_700_000_001_000);
    await file.save(STATE, 1_700_000_002_000);
    expect(await readdir(dir)).toEqual(["state.json"]);
    expect(await file.load()).toEqual({ kind: "loaded", savedAt: 1_700_000_002_000, ...STATE });
  });

  it("removes the temporary files of interrupted saves, and nothing else", async () => {
    const dir = await dataDir();
    const leftovers = [`state.json.${randomUUID()}.tmp`, `state.json.${randomUUID()}.tmp`];
    const others = ["state.json", "state.json.bak", "other.tmp", "heartbeat", "options.json.tmp"];
    for (const name of [...leftovers, ...others]) await writeFile(path.join(dir, name), "{");
    const file = new StateFile(dir);
    expect(await file.removeLeftovers()).toBe(2);
    expect((await readdir(dir)).sort()).toEqual([...others].sort());
    expect(await file.removeLeftovers()).toBe(0);
  });

  it("finds nothing left over in a data folder that does not exist yet", async () => {
    const dir = await dataDir();
    expect(await new StateFile(path.join(dir, "missing")).removeLeftovers()).toBe(0);
  });
});
