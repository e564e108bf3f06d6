/**
 * `npm run bench:status-page`: what the status page costs the running add-on. The built program
 * (dist/main.js, as the add-on image runs it) reads the bench's home every second while 1,000
 * topics update at a steady rate, in three phases of equal length:
 *
 * 1. no page open: the message path as it always is;
 * 2. a page open: the page in headless Chromium (when /usr/bin/chromium is there) and an event
 *    stream read here to count what is sent, and every second one entity's every source asked for;
 * 3. the rule tester in use as well: its own connection samples every topic on the broker.
 *
 * For each: the program's CPU time per message (from /proc, user + system), how long the page's
 * requests took to be answered, and how busy the page kept the browser (its long tasks, over 50 ms).
 * Linux only (it reads /proc/<pid>/stat).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import mqtt from "mqtt";
import { chromium, type Page } from "playwright-core";
import { startBenchBroker } from "./broker.js";
import { PROJECT_DIR } from "./build.js";
import { encodePublish } from "./children/publish-packet.js";
import { optionsOf, payloadOf, topicOf, type HomeShape } from "./workload.js";

const { values } = parseArgs({
  options: {
    topics: { type: "string", default: "1000" },
    rules: { type: "string", default: "300" },
    rate: { type: "string", default: "5000" },
    seconds: { type: "string", default: "20" },
  },
});
const shape: HomeShape = { topics: Number(values.topics), rules: Number(values.rules), rooms: 100 };
const rate = Number(values.rate);
const phaseMs = Number(values.seconds) * 1000;
const TICK_MS = 10;
/** Linux's clock ticks per second for /proc/<pid>/stat (USER_HZ). */
const CLOCK_TICKS = 100;

const main = path.join(PROJECT_DIR, "dist", "main.js");
if (!existsSync(main)) throw new Error(`${main} does not exist: run npm run build first`);
const broker = await startBenchBroker("auto");
const dir = await mkdtemp(path.join(os.tmpdir(), "mqtt-aggregator-page-bench-"));
const optionsPath = path.join(dir, "options.json");
await writeFile(
  optionsPath,
  JSON.stringify({
    ...optionsOf(shape, "plain"),
    first_read_delay: 1,
    read_interval: 1,
    mqtt: { host: "127.0.0.1", port: broker.port },
  }),
);
const child = spawn(
  process.execPath,
  [main, "--options", optionsPath, "--data-dir", dir, "--status-port", "0"],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const pid = child.pid ?? 0;
let output = "";
child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));

function cpuTicks(): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

// The publisher: 1,000 topics in turn at a steady rate, QoS 0 packets written straight to the socket.
const packets = Array.from({ length: shape.topics }, (_, index) =>
  Array.from({ length: 8 }, (_unused, variant) =>
    encodePublish(topicOf(index, shape), payloadOf(index, variant), 0, false),
  ),
);
const publisher = await mqtt.connectAsync({
  host: "127.0.0.1",
  port: broker.port,
  clientId: "page_bench",
  log: () => undefined,
});
const socket = publisher.stream as NodeJS.WritableStream;
let published = 0;
const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
const publishing = setInterval(() => {
  const batch: Buffer[] = [];
  for (let count = 0; count < perTick; count += 1, published += 1)
    batch.push(
      packets[published % shape.topics]?.[Math.floor(published / shape.topics) % 8] ?? Buffer.alloc(0),
    );
  socket.write(Buffer.concat(batch));
}, TICK_MS);

const CHROMIUM = "/usr/bin/chromium";
const browser = existsSync(CHROMIUM)
  ? await chromium.launch({
      executablePath: CHROMIUM,
      chromiumSandbox: false,
      args: [
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    })
  : undefined;

/** In the page: the time its main thread spent in tasks over 50 ms, the browser's own measure of jank. */
interface LongTasks {
  total: number;
  max: number;
  count: number;
}

async function openPage(url: string): Promise<Page | undefined> {
  if (browser === undefined) return undefined;
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  // A string: it runs in the page, whose types (and "longtask") the bench is not compiled with.
  await page.addInitScript({
    content: `
      const tasks = { total: 0, max: 0, count: 0 };
      globalThis.longTasks = tasks;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          tasks.total += entry.duration;
          tasks.max = Math.max(tasks.max, entry.duration);
          tasks.count += 1;
        }
      }).observe({ type: "longtask", buffered: true });`,
  });
  await page.goto(url);
  await page.locator("article.entity").first().waitFor();
  return page;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const started = Date.now();
  for (;;) {
    const found = pattern.exec(output);
    if (found !== null) return found;
    if (Date.now() - started > timeoutMs) throw new Error(`the program did not say ${pattern}:\n${output}`);
    await sleep(50);
  }
}

const port = (await waitFor(/Status page on http:\/\/127\.0\.0\.1:(\d+)\//, 10_000))[1] ?? "";
const base = `http://127.0.0.1:${port}/`;

function get(url: string): Promise<{ ms: number; body: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, (response) => {
        let body = "";
        response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ ms: performance.now() - started, body }));
      })
      .on("error", reject);
  });
}

interface Phase {
  readonly name: string;
  readonly microsPerMessage: number;
  readonly cpuShare: number;
  readonly pushesPerSecond: number | undefined;
  readonly streamKbPerSecond: number | undefined;
  readonly inspectMs: readonly number[];
  readonly testerMs: readonly number[];
  readonly longTasks: LongTasks | undefined;
}

async function phase(name: string, page: boolean, tester: boolean): Promise<Phase> {
  let events = 0;
  let bytes = 0;
  let stream: http.ClientRequest | undefined;
  if (page) {
    stream = http.get(`${base}api/events`, (response) => {
      response.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        // Parsed as the page would: each event's JSON.
        for (const line of chunk.toString("utf8").split("\n"))
          if (line.startsWith("event: update")) events += 1;
      });
    });
    await sleep(1_000);
  }
  const browserPage = page ? await openPage(base) : undefined;
  await browserPage?.evaluate(() => {
    const tasks = (globalThis as unknown as { longTasks: LongTasks }).longTasks;
    Object.assign(tasks, { total: 0, max: 0, count: 0 });
  });
  const inspectMs: number[] = [];
  const testerMs: number[] = [];
  const startTicks = cpuTicks();
  const startPublished = published;
  const started = performance.now();
  events = 0;
  bytes = 0;
  let second = 0;
  while (performance.now() - started < phaseMs) {
    await sleep(1_000);
    second += 1;
    if (page) inspectMs.push((await get(`${base}api/entity?key=tasmota_temperatures`)).ms);
    if (tester && second % 3 === 1)
      testerMs.push(
        (
          await get(
            `${base}api/tester?topic=${encodeURIComponent("bench/tasmota/+/+room/SENSOR")}&value_path=AM2301.Temperature`,
          )
        ).ms,
      );
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpuSeconds = (cpuTicks() - startTicks) / CLOCK_TICKS;
  const messages = published - startPublished;
  stream?.destroy();
  const longTasks = await browserPage?.evaluate(
    () => (globalThis as unknown as { longTasks: LongTasks }).longTasks,
  );
  await browserPage?.close();
  return {
    name,
    microsPerMessage: (cpuSeconds * 1e6) / messages,
    cpuShare: cpuSeconds / elapsed,
    pushesPerSecond: page ? events / elapsed : undefined,
    streamKbPerSecond: page ? bytes / 1024 / elapsed : undefined,
    inspectMs,
    testerMs,
    longTasks: longTasks === undefined ? undefined : { ...longTasks, total: longTasks.total / elapsed },
  };
}

// Every topic seen and the first reads done before anything is measured.
await sleep(5_000);
const phases = [
  await phase("no page open", false, false),
  await phase("a page open", true, false),
  await phase("a page open, rule tester in use", true, true),
];
clearInterval(publishing);
await browser?.close();
child.kill("SIGTERM");
await new Promise((resolve) => child.once("exit", resolve));
await publisher.endAsync();
await broker.stop();
await rm(dir, { recursive: true, force: true });

const median = (list: readonly number[]) =>
  [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? NaN;
const base0 = phases[0]?.microsPerMessage ?? NaN;
process.stdout.write(
  `Status page cost: ${shape.topics} topics at ${rate} messages/s, ${shape.rules} rules read every second, ` +
    `${phaseMs / 1000} s per phase, broker ${broker.description}\n\n` +
    "| | CPU per message | vs no page | CPU share | pushes/s | stream KB/s | every source, ms (median / max) | tester, ms (median / max) | page's long tasks, ms/s (longest) |\n" +
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
);
for (const each of phases) {
  const ms = (list: readonly number[]) =>
    list.length === 0 ? "" : `${median(list).toFixed(1)} / ${Math.max(...list).toFixed(1)}`;
  process.stdout.write(
    `| ${each.name} | ${each.microsPerMessage.toFixed(2)} µs | ${(each.microsPerMessage / base0).toFixed(2)} | ` +
      `${(each.cpuShare * 100).toFixed(1)}% | ${each.pushesPerSecond?.toFixed(1) ?? ""} | ` +
      `${each.streamKbPerSecond?.toFixed(0) ?? ""} | ${ms(each.inspectMs)} | ${ms(each.testerMs)} | ` +
      `${each.longTasks === undefined ? "" : `${each.longTasks.total.toFixed(0)} (${each.longTasks.max.toFixed(0)})`} |\n`,
  );
}
