import { spawn } from "node:child_process";
import { readFile, rm, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BenchChild } from "./child-process.js";
import type { ChildBuild } from "./build.js";
import type { ChildMessage, SubscriberOrders } from "./children/protocol.js";
import { addonNodeFlags } from "./runtime-flags.js";

/** One start: from the process's spawn to its subscriptions acknowledged, then its RSS at rest. */
export interface StartFigures {
  readonly subscribedMs: number;
  readonly idleRssBytes: number;
}

export interface StartupReport {
  readonly starts: number;
  /** How long each process was left alone after subscribing before its RSS was read. */
  readonly settleMs: number;
  readonly bare: readonly StartFigures[];
  readonly addon: readonly StartFigures[];
}

/**
 * Long enough for the add-on's start-up work after subscribing: it listens for retained discovery
 * configs (up to 3 s) to remove stale entities, then announces its entities.
 */
const SETTLE_MS = 4_000;

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return match?.[1] === undefined ? Number.NaN : Number(match[1]) * 1024;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The bare subscriber child: forked, told what to subscribe to, ready once subscribed. */
async function startBare(build: ChildBuild, orders: SubscriberOrders): Promise<StartFigures> {
  const started = performance.now();
  const child = new BenchChild<ChildMessage>(
    "bare subscriber (start-up)",
    build.script("children/bare-subscriber"),
  );
  try {
    child.send(orders);
    await child.next(
      (message): message is Extract<ChildMessage, { kind: "ready" }> => message.kind === "ready",
      20_000,
    );
    const subscribedMs = performance.now() - started;
    await sleep(SETTLE_MS);
    return { subscribedMs, idleRssBytes: await rssOf(child.pid) };
  } finally {
    await child.stop();
  }
}

/**
 * The add-on's own program (src/main.ts, compiled), as the add-on image runs it (the node flags of
 * its run script): an options file naming the broker, a data folder of its own. Subscribed when
 * it logs "Listening to …", which it does once the broker has acknowledged its subscriptions.
 */
async function startAddon(
  build: ChildBuild,
  options: Record<string, unknown>,
  port: number,
): Promise<StartFigures> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mqtt-aggregator-bench-start-"));
  try {
    const optionsFile = path.join(dir, "options.json");
    await writeFile(optionsFile, JSON.stringify({ ...options, mqtt: { host: "127.0.0.1", port } }));
    const env = { ...process.env };
    delete env["SUPERVISOR_TOKEN"];
    delete env["NODE_OPTIONS"];
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [
        ...addonNodeFlags(),
        build.main,
        "--options",
        optionsFile,
        "--data-dir",
        dir,
        "--heartbeat-file",
        path.join(dir, "heartbeat"),
      ],
      { stdio: ["ignore", "pipe", "pipe"], env },
    );
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    process.once("exit", () => child.kill("SIGKILL"));
    let output = "";
    const subscribed = new Promise<number>((resolve, reject) => {
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        output += chunk;
        if (/Listening to \d+ topic filter/.test(output)) resolve(performance.now() - started);
      });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
      void exited.then(() => reject(new Error(`the add-on exited before subscribing:\n${output}`)));
      setTimeout(
        () => reject(new Error(`the add-on did not subscribe within 20 s:\n${output}`)),
        20_000,
      ).unref();
    });
    try {
      const subscribedMs = await subscribed;
      await sleep(SETTLE_MS);
      return { subscribedMs, idleRssBytes: await rssOf(child.pid ?? -1) };
    } finally {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(killer);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Starts each `starts` times, alternating, one process at a time. */
export async function measureStartup(
  build: ChildBuild,
  port: number,
  options: Record<string, unknown>,
  subscriptions: readonly string[],
  starts: number,
): Promise<StartupReport> {
  const bare: StartFigures[] = [];
  const addon: StartFigures[] = [];
  for (let start = 0; start < starts; start += 1) {
    const orders: SubscriberOrders = {
      port,
      clientId: `bench_start_${start}_${process.pid}`,
      subscriptions,
      warmup: Number.MAX_SAFE_INTEGER,
      burst: 0,
    };
    if (start % 2 === 0) {
      bare.push(await startBare(build, orders));
      addon.push(await startAddon(build, options, port));
    } else {
      addon.push(await startAddon(build, options, port));
      bare.push(await startBare(build, orders));
    }
  }
  return { starts, settleMs: SETTLE_MS, bare, addon };
}
