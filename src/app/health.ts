/** Without a working broker connection this long, the add-on is unhealthy: a restart is worth a try. */
export const UNHEALTHY_AFTER_MS = 300_000;

/** Why the add-on cannot do its job, or `undefined` while it can. */
export function connectionProblem(offlineMs: number, limitMs: number): string | undefined {
  if (offlineMs < limitMs) return undefined;
  const shown =
    offlineMs < 120_000 ? `${Math.round(offlineMs / 1000)} s` : `${Math.floor(offlineMs / 60_000)} min`;
  return `no connection to the MQTT broker for ${shown}`;
}
