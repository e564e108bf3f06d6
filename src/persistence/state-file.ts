import { randomUUID } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { SavedReading } from "../core/readings-store.js";

/** Readings kept across restarts: raw payloads from devices, never credentials. */
const stateFileSchema = z.object({
  version: z.literal(1),
  saved_at: z.number(),
  readings: z.array(z.object({ topic: z.string(), payload: z.string(), received_at: z.number() })),
});

export type LoadedState =
  | { readonly kind: "loaded"; readonly readings: SavedReading[] }
  | { readonly kind: "missing" }
  | { readonly kind: "unreadable"; readonly why: string };

export const STATE_FILE_NAME = "state.json";

export class StateFile {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, STATE_FILE_NAME);
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
      readings: parsed.data.readings.map((reading) => ({
        topic: reading.topic,
        payload: reading.payload,
        receivedAt: reading.received_at,
      })),
    };
  }

  /** Writes a temporary file and renames it over the old one, so a crash never leaves half a file. */
  async save(readings: readonly SavedReading[], savedAt: number): Promise<void> {
    const body = JSON.stringify({
      version: 1,
      saved_at: savedAt,
      readings: readings.map((reading) => ({
        topic: reading.topic,
        payload: reading.payload,
        received_at: reading.receivedAt,
      })),
    });
    const temporary = `${this.path}.${randomUUID()}.tmp`;
    try {
      await writeFile(temporary, body, { encoding: "utf8", mode: 0o600 });
      await rename(temporary, this.path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && "code" in error && error.code === code;
}
