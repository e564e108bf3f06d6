import { writeFile } from "node:fs/promises";
import { join } from "node:path";

export const HEARTBEAT_FILE_NAME = "heartbeat";
const BEAT_MS = 30_000;

/**
 * Touches `<dataDir>/heartbeat` while the event loop runs; the image's HEALTHCHECK reads its age,
 * so a program that hangs is reported unhealthy even though its process is still there.
 */
export function startHeartbeat(dataDir: string): () => void {
  const path = join(dataDir, HEARTBEAT_FILE_NAME);
  const beat = () => {
    writeFile(path, `${new Date().toISOString()}\n`).catch(() => undefined);
  };
  beat();
  const timer = setInterval(beat, BEAT_MS);
  timer.unref();
  return () => clearInterval(timer);
}
