import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { MqttClient } from "mqtt";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoOptions } from "../../demo/demo-options.js";
import { startSimulatedSensors } from "../../demo/simulated-sensors.js";
import { connectClient, startAedes, type TestBroker } from "../support/brokers.js";
import { launchChromium } from "../support/browser.js";
import { startProgram, stopAllPrograms } from "../support/program.js";

/**
 * The picture of the status page in DOCS.md: the demo's rules over the demo's simulated living
 * room, in the built program. Every run takes it; only `UPDATE_SCREENSHOT=1 npx vitest run
 * test/status-page/screenshot.browser.test.ts` writes it over the committed one.
 */

const PICTURE = new URL("../../docs/status-page.png", import.meta.url);
const WIDTH = 1100;
const cleanups: (() => Promise<unknown>)[] = [];
let broker: TestBroker;
let sensors: MqttClient;
let browser: Browser;
let pageUrl: string;

beforeAll(async () => {
  broker = await startAedes();
  cleanups.push(() => broker.stop());
  const program = await startProgram({
    options: { ...demoOptions, mqtt: { host: broker.host, port: broker.port } },
    statusPort: 0,
  });
  cleanups.push(() => stopAllPrograms());
  const line = await program.waitForLine(/Status page on http:\/\/127\.0\.0\.1:\d+\//, 10_000);
  pageUrl = /http:\/\/127\.0\.0\.1:\d+\//.exec(line)?.[0] ?? "";
  await program.waitForLine(/Listening to \d+ topic filters/, 10_000);
  sensors = await connectClient(broker);
  cleanups.push(() => sensors.endAsync());
  // Two rounds of the simulated sensors and no more, so that the picture shows the same values
  // each time: the second round has the broken sensor the log warns about.
  const stop = startSimulatedSensors(sensors, 200);
  await new Promise((resolve) => setTimeout(resolve, 300));
  stop();
  await program.waitForLine(/ignores tele\/tasmota_broken\/SENSOR#AM2301/, 15_000);
  browser = await launchChromium();
  cleanups.push(() => browser.close());
}, 40_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("the picture of the status page in DOCS.md", () => {
  it("is taken from the demo's data, and committed where DOCS.md points", async () => {
    const page = await browser.newPage({ viewport: { width: WIDTH, height: 800 }, colorScheme: "light" });
    await page.goto(pageUrl);
    await page.getByText("Live", { exact: true }).waitFor();
    // Every rule of the demo, and the two rooms its named wildcard makes.
    await expect.poll(() => page.locator("article.entity .state").count()).toBe(5);
    await expect
      .poll(() => page.locator('article[data-key="living_room_temperature"] .pill').allTextContents())
      .toContain("unusable");
    const picture = await page.screenshot({ fullPage: true, animations: "disabled" });
    expect(picture.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(picture.readUInt32BE(16)).toBe(WIDTH);
    if (process.env["UPDATE_SCREENSHOT"] === "1") writeFileSync(PICTURE, picture);

    expect(existsSync(PICTURE), "docs/status-page.png (run with UPDATE_SCREENSHOT=1 to take it)").toBe(true);
    const committed = readFileSync(PICTURE);
    expect(committed.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(committed.readUInt32BE(16)).toBe(WIDTH);
    // A relative link: the Supervisor shows DOCS.md with images from the repository.
    expect(readFileSync(new URL("../../DOCS.md", import.meta.url), "utf8")).toContain(
      "](docs/status-page.png)",
    );
    await page.close();
  });
});
