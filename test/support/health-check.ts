import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

import { DEFAULT_HEARTBEAT_PATH } from "../../src/persistence/heartbeat.js";

/** The command of the Dockerfile's HEALTHCHECK, which Docker runs with `sh -c`. */
export function healthCheckCommand(): string {
  const text = readFileSync(new URL("../../Dockerfile", import.meta.url), "utf8");
  const instruction = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .find((line) => line.startsWith("HEALTHCHECK "));
  const command = / CMD (.*)$/.exec(instruction ?? "")?.[1]?.trim();
  if (command === undefined) throw new Error("the Dockerfile has no HEALTHCHECK with a CMD");
  return command;
}

/** Runs the image's health check against `file` instead of the container's heartbeat: 0 is healthy. */
export function runHealthCheck(file: string): number | null {
  const command = healthCheckCommand();
  if (!command.includes(DEFAULT_HEARTBEAT_PATH))
    throw new Error(`the HEALTHCHECK does not read ${DEFAULT_HEARTBEAT_PATH}: ${command}`);
  return spawnSync("sh", ["-c", command.split(DEFAULT_HEARTBEAT_PATH).join(file)]).status;
}
