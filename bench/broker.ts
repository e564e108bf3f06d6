import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants as fsConstants, rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { startEmbeddedBroker } from "../demo/embedded-broker.js";

export type BrokerChoice = "auto" | "mosquitto" | "aedes";

export interface BenchBroker {
  /** What the report says about the broker. */
  readonly description: string;
  readonly kind: "mosquitto" | "aedes";
  readonly port: number;
  /** Lines of the broker's log saying it dropped messages (mosquitto logs them at "notice"). */
  droppedWarnings(): string[];
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";

/** Mosquitto on PATH, or where Debian and Alpine put it (sbin is often not on a user's PATH). */
export function findMosquitto(): string | undefined {
  const dirs = [
    ...(process.env["PATH"] ?? "").split(path.delimiter),
    "/usr/sbin",
    "/usr/local/sbin",
    "/sbin",
  ];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = path.join(dir, "mosquitto");
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("could not find a free port");
  return address.port;
}

export async function startBenchBroker(choice: BrokerChoice): Promise<BenchBroker> {
  const mosquitto = choice === "aedes" ? undefined : findMosquitto();
  if (mosquitto !== undefined) return startMosquitto(mosquitto);
  if (choice === "mosquitto")
    throw new Error("--broker mosquitto: no mosquitto binary on PATH or in /usr/sbin");
  const broker = await startEmbeddedBroker(0);
  return {
    description: `aedes (embedded, in the bench's own process; no mosquitto found) on ${HOST}:${broker.port}`,
    kind: "aedes",
    port: broker.port,
    droppedWarnings: () => [],
    stop: () => broker.close(),
  };
}

/**
 * The settings that matter for a burst: no per-client queue limit (`max_queued_messages 0`,
 * `max_queued_bytes 0`, no `max_inflight_bytes`), so a subscriber that falls behind gets every
 * QoS 0 message late instead of losing it; no persistence; a log at "notice", where mosquitto
 * says "Outgoing messages are being dropped".
 */
function mosquittoConfig(port: number): string {
  return [
    `listener ${port} ${HOST}`,
    "allow_anonymous true",
    "persistence false",
    "max_queued_messages 0",
    "max_queued_bytes 0",
    "max_inflight_bytes 0",
    "memory_limit 0",
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    "log_type notice",
    // Started as root, mosquitto would drop to the "mosquitto" user, which cannot read a 0700 temp dir.
    `user ${os.userInfo().username}`,
    "",
  ].join("\n");
}

async function startMosquitto(binary: string): Promise<BenchBroker> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), "mqtt-aggregator-bench-"));
  const configFile = path.join(dir, "mosquitto.conf");
  await writeFile(configFile, mosquittoConfig(port));
  const child: ChildProcess = spawn(binary, ["-c", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  // However the bench ends (an error, Ctrl-C), the broker and its temp dir go with it.
  process.once("exit", () => {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  let log = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (log += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (log += chunk));
  const state = { alive: true };
  const exited = new Promise<void>((resolve) =>
    child.once("close", () => {
      state.alive = false;
      resolve();
    }),
  );

  const deadline = Date.now() + 5_000;
  while (!(await canConnect(port))) {
    if (!state.alive || Date.now() > deadline) {
      child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
      throw new Error(`mosquitto did not start on ${HOST}:${port}:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    description: `mosquitto (${binary}, spawned for the bench on ${HOST}:${port}; config ${configFile}: persistence false, max_queued_messages 0, max_queued_bytes 0)`,
    kind: "mosquitto",
    port,
    droppedWarnings: () => log.split("\n").filter((line) => /dropp/i.test(line)),
    async stop() {
      if (state.alive) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 2_000);
        await exited;
        clearTimeout(killer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      socket.destroy();
      resolve(false);
    });
  });
}
