import { readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_DIR } from "./build.js";

/** The add-on's service script in the image: it starts the program with the node flags to use. */
export const RUN_SCRIPT = "rootfs/etc/s6-overlay/s6-rc.d/mqtt-aggregator/run";

/**
 * The node flags the add-on's run script starts the program with (`exec node <flags> …/main.js`),
 * so that the bench runs the add-on's code as the image does: memory depends on them.
 */
export function addonNodeFlags(): string[] {
  const script = readFileSync(path.join(PROJECT_DIR, RUN_SCRIPT), "utf8");
  const flags = /^exec node ((?:--\S+ )*)\/\S+\.js$/m.exec(script)?.[1];
  if (flags === undefined) throw new Error(`${RUN_SCRIPT} has no "exec node [flags] /…/main.js" line`);
  return flags.split(" ").filter((flag) => flag !== "");
}
