import { randomUUID } from "node:crypto";
import { open, readFile, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { SavedEntityKey, SavedReading } from "../core/readings-store.js";

/** Readings kept across restarts: raw payloads from devices, never credentials. */
const stateFileSchema = z.object({
  version: z.literal(1),
  saved_at: z.number(),
  readings: z.array(z.object({ topic: z.string(), payload: z.string(), received_at: z.number() })),
  // Added after the first files were written; older files simply have none.
  entity_keys: z
    .array(z.object({ rule: z.string(), captures: z.array(z.string()), entity_key: z.string() }))
    .default([]),
  // Fanned-out entities that have had a usable reading; files of 0.1.0 have none.
  shown_entities: z.array(z.string()).default([]),
});

/** What the add-on keeps across restarts. */
export interface SavedState {
  /** `receivedAt` on the wall clock. */
  readonly readings: readonly SavedReading[];
  readonly entityKeys: readonly SavedEntityKey[];
  readonly shownEntities: readonly string[];
}

export type LoadedState =
  | ({ readonly kind: "loaded"; readonly savedAt: number } & SavedState)
  | { readonly kind: "missing" }
  | { readonly kind: "unreadable"; readonly why: string };

export const STATE_FILE_NAME = "state.json";
/** `state.json.<uuid>.tmp`: what a save writes before renaming it, and leaves behind if killed. */
const TEMPORARY_FILE = /^state\.json\..+\.tmp$/;

export class StateFile {
  readonly path: string;

  constructor(private readonly dataDir: string) {
    this.path = join(dataDir, STATE_FILE_NAME);
  }

  /**
   * Removes the temporary files of saves that were interrupted (a kill -9, a power cut); call at
   * start, when no save of this run can be under way. Returns how many there were.
   */
  async removeLeftovers(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dataDir);
    } catch {
      // No data folder yet means nothing left over; a save will report a folder that is unusable.
      return 0;
    }
    const leftovers = names.filter((name) => TEMPORARY_FILE.test(name));
    await Promise.all(leftovers.map((name) => rm(join(this.dataDir, name), { force: true })));
    return leftovers.length;
  }

  async load(): Promise<LoadedState> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if (isErrno(error, "ENOENT")) return { kind: "missing" };
      return { kind: "unreadable", why: error instanceof Error ? error.message : String(error) };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { kind: "unreadable", why: "it is not valid JSON (truncated or corrupt)" };
    }
    const parsed = stateFileSchema.safeParse(json);
    if (!parsed.success) return { kind: "unreadable", why: "it is not a state file of this version" };
    return {
      kind: "loaded",
      savedAt: parsed.data.saved_at,
      shownEntities: parsed.data.shown_entities,
      readings: parsed.data.readings.map((reading) => ({
        topic: reading.topic,
        payload: reading.payload,
        receivedAt: reading.received_at,
      })),
      entityKeys: parsed.data.entity_keys.map((saved) => ({
        rule: saved.rule,
        captures: saved.captures,
        entityKey: saved.entity_key,
      })),
    };
  }

  /**
   * Writes a temporary file and renames it over the old one, so a crash never leaves half a file.
   * The file is flushed to the disk before the rename, and the folder after it: without that, a
   * power cut soon after a save may leave an empty state.json on an SD card (the rename reached
   * the disk, the data did not). It costs two flushes per save, which is at most once per read_interval.
   */
  async save(state: SavedState, savedAt: number): Promise<void> {
    const body = JSON.stringify({
      version: 1,
      saved_at: savedAt,
      readings: state.readings.map((reading) => ({
        topic: reading.topic,
        payload: reading.payload,
        received_at: reading.receivedAt,
      })),
      entity_keys: state.entityKeys.map((saved) => ({
        rule: saved.rule,
        captures: saved.captures,
        entity_key: saved.entityKey,
      })),
      shown_entities: state.shownEntities,
    });
    const temporary = `${this.path}.${randomUUID()}.tmp`;
    try {
      const file = await open(temporary, "w", 0o600);
      try {
        await file.writeFile(body, "utf8");
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, this.path);
      const folder = await open(this.dataDir, "r");
      try {
        await folder.sync();
      } finally {
        await folder.close();
      }
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && "code" in error && error.code === code;
}
