import type { ReadingsStore } from "../core/readings-store.js";

/** Payloads larger than this are counted as unusable and not kept: no sensor sends 64 KB. */
export const MAX_PAYLOAD_BYTES = 65_536;

/** The message path from the MQTT socket into the store: the hot path, so nothing else happens here. */
export function ingestMessage(store: ReadingsStore, topic: string, payload: Buffer, now: number): void {
  if (payload.length > MAX_PAYLOAD_BYTES) store.ingestOversized(topic, payload.length, now);
  // Decoding copies the bytes out of MQTT.js's read buffer, which a kept slice would pin in memory.
  else store.ingest(topic, payload.toString("utf8"), now);
}
