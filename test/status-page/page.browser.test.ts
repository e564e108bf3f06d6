import type { MqttClient } from "mqtt";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectClient, startAedes, type TestBroker } from "../support/brokers.js";
import { launchChromium, request } from "../support/browser.js";
import { startProgram, stopAllPrograms, type RunningProgram } from "../support/program.js";

/**
 * The built program with a real broker, and its status page in headless Chromium: what a person
 * sees there, live, and that topics and payloads from the broker stay text.
 */

const PASSWORD = "broker-pw-Vq27XcN8rT";
/** A payload and a topic that would run script if the page put them in as markup. */
const SCRIPT_PAYLOAD = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">`;
const MARKUP_TOPIC = "home/<img src=x onerror=window.__pwned=3>/livingroom/temperature";

const OPTIONS = {
  first_read_delay: 0,
  read_interval: 1,
  rules: [
    {
      name: "Living room temperature",
      topic: "home/+/livingroom/temperature",
      function: "mean",
      unit: "°C",
      device_class: "temperature",
      precision: 1,
    },
    {
      name: "Windows",
      topic: "zigbee2mqtt/+, !zigbee2mqtt/bridge",
      value_path: "contact",
      function: "any",
      on_value: "false",
      device_class: "window",
    },
    { name: "{room} humidity", topic: "rooms/+room/humidity", function: "max", unit: "%" },
  ],
};

/**
 * What the tests look at inside the page. The tests are compiled without the DOM's types, and a
 * function given to page.evaluate runs in the page, so it names these through globalThis.
 */
interface InPage {
  readonly document: {
    querySelectorAll(selector: string): ArrayLike<{ getAttribute(name: string): string | null }>;
    readonly documentElement: { readonly scrollWidth: number };
    readonly body: unknown;
  };
  getComputedStyle(element: unknown): { readonly backgroundColor: string; readonly color: string };
  __pwned?: number;
  stayed?: boolean;
}

/** What beforeAll started, stopped in reverse order however far it got. */
const cleanups: (() => Promise<unknown>)[] = [];
let broker: TestBroker;
let sensors: MqttClient;
let program: RunningProgram;
let browser: Browser;
let pageUrl: string;

async function publish(topic: string, payload: string, retain = false): Promise<void> {
  await sensors.publishAsync(topic, payload, { qos: 1, retain });
}

async function openPage(
  options: { width?: number; height?: number; colorScheme?: "light" | "dark"; holdEvents?: boolean } = {},
): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1100, height: options.height ?? 900 },
    colorScheme: options.colorScheme ?? "light",
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  // A proxy that holds the event stream back (as Home Assistant's ingress did before 2026.1 by
  // compressing it): the request stays unanswered.
  if (options.holdEvents === true) await page.route("**/api/events", () => undefined);
  await page.goto(pageUrl);
  await page
    .getByText(options.holdEvents === true ? "Updating every 2 s" : "Live", { exact: true })
    .waitFor();
  expect(problems).toEqual([]);
  return page;
}

beforeAll(async () => {
  broker = await startAedes({ username: "aggregator", password: PASSWORD });
  cleanups.push(() => broker.stop());
  sensors = await connectClient(broker);
  cleanups.push(() => sensors.endAsync());
  // Retained, so that the program, started next, receives them.
  await publish("home/a/livingroom/temperature", "21.0", true);
  await publish("home/b/livingroom/temperature", "23.0", true);
  await publish(MARKUP_TOPIC, "22", true);
  await publish("home/evil/livingroom/temperature", SCRIPT_PAYLOAD, true);
  await publish("zigbee2mqtt/window_left", JSON.stringify({ contact: true, battery: 90 }), true);
  await publish("zigbee2mqtt/bridge", JSON.stringify({ state: "online" }), true);
  await publish("zigbee2mqtt/plug", JSON.stringify({ power: 5 }), true);
  await publish("rooms/kitchen/humidity", "55", true);
  // Read by no rule: the rule tester finds it by sampling the broker.
  await publish("tele/plug/SENSOR", JSON.stringify({ ENERGY: { Power: 42.5 } }), true);
  program = await startProgram({
    options: {
      ...OPTIONS,
      mqtt: { host: broker.host, port: broker.port, username: "aggregator", password: PASSWORD },
    },
    statusPort: 0,
  });
  cleanups.push(() => stopAllPrograms());
  const line = await program.waitForLine(/Status page on http:\/\/127\.0\.0\.1:\d+\//, 10_000);
  pageUrl = /http:\/\/127\.0\.0\.1:\d+\//.exec(line)?.[0] ?? "";
  await program.waitForLine(/ignores home\/evil\/livingroom\/temperature/, 10_000);
  browser = await launchChromium();
  cleanups.push(() => browser.close());
}, 40_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("the status page in a browser", () => {
  it("shows every rule with its entities, their states and each source's value and status", async () => {
    const page = await openPage();
    const temperature = page.locator('article[data-key="living_room_temperature"]');
    // (21 + 23 + 22) / 3: the topic holding markup counts like any other.
    await expect.poll(() => temperature.locator(".state").textContent()).toBe("22.0 °C");
    await expect.poll(() => temperature.locator("tr.source").count()).toBe(4);
    const evil = temperature.locator("tr.source", { hasText: "home/evil/livingroom/temperature" });
    expect(await evil.locator(".pill").textContent()).toBe("unusable");
    expect(await evil.locator(".reason").textContent()).toMatch(/is not a number$/);
    const windows = page.locator('article[data-key="windows"]');
    await expect.poll(() => windows.locator(".state").textContent()).toBe("OFF");
    expect(await page.locator("section.rule h2").allTextContents()).toEqual([
      "Living room temperature",
      "Windows",
      "{room} humidity",
    ]);
    expect(await page.locator('article[data-key="room_humidity__kitchen"] h3').textContent()).toBe(
      "kitchen humidity",
    );
    expect(await page.locator('article[data-key="room_humidity__kitchen"] .state').textContent()).toBe(
      "55 %",
    );
    // Ages are counted from the add-on's clock, not the browser's.
    expect(await evil.locator(".age").textContent()).toMatch(/^\d+ s ago$/);
    await page.context().close();
  });

  it("changes a value live after a publish, without reloading", async () => {
    const page = await openPage();
    const state = page.locator('article[data-key="living_room_temperature"] .state');
    await expect.poll(() => state.textContent()).toBe("22.0 °C");
    await page.evaluate(() => {
      (globalThis as unknown as InPage).stayed = true;
    });
    await publish("home/a/livingroom/temperature", "27.0");
    await expect.poll(() => state.textContent(), { timeout: 8_000 }).toBe("24.0 °C");
    await publish("zigbee2mqtt/window_left", JSON.stringify({ contact: false }), true);
    const windows = page.locator('article[data-key="windows"]');
    await expect.poll(() => windows.locator(".state").textContent(), { timeout: 8_000 }).toBe("ON");
    expect(await page.evaluate(() => (globalThis as unknown as InPage).stayed)).toBe(true);
    await page.context().close();
  });

  it("brings a card out of sight up to date when it comes into sight", async () => {
    // A short window: the humidity rule is far below it, and its card is not rebuilt while there.
    const page = await openPage({ height: 250 });
    const kitchen = page.locator('article[data-key="room_humidity__kitchen"] .state');
    expect(await kitchen.textContent()).toBe("55 %");
    await publish("rooms/kitchen/humidity", "61", true);
    // Two reads later it has been published; the card waits until it is looked at.
    await page.waitForTimeout(2_500);
    const card = page.locator('article[data-key="room_humidity__kitchen"]');
    expect(await card.getAttribute("data-stale")).toBe("true");
    await kitchen.scrollIntoViewIfNeeded();
    await expect.poll(() => kitchen.textContent()).toBe("61 %");
    await page.context().close();
  });

  it("polls instead when the live updates are held up on the way, and still changes live", async () => {
    const page = await openPage({ holdEvents: true });
    const state = page.locator('article[data-key="living_room_temperature"] .state');
    await expect.poll(() => state.textContent()).toMatch(/°C$/);
    await publish("home/b/livingroom/temperature", "26.0", true);
    // Whatever the mean was, it moves by a third of the change.
    const before = Number((await state.textContent())?.split(" ")[0]);
    await expect
      .poll(async () => Number((await state.textContent())?.split(" ")[0]), { timeout: 10_000 })
      .toBeCloseTo(before + 1, 5);
    await page.context().close();
  });

  it("shows payloads and topics holding markup as text, and runs none of it", async () => {
    const page = await openPage();
    const temperature = page.locator('article[data-key="living_room_temperature"]');
    await temperature.locator("code", { hasText: "<img src=x onerror=window.__pwned=3>" }).waitFor();
    const evil = temperature.locator("tr.source", { hasText: "home/evil/livingroom/temperature" });
    expect(await evil.locator(".value").textContent()).toBe(SCRIPT_PAYLOAD);
    await evil.getByRole("button", { name: "payload" }).click();
    const dialog = page.locator("#payload-dialog");
    await expect.poll(() => dialog.locator("pre").textContent()).toBe(SCRIPT_PAYLOAD);
    expect(await dialog.isVisible()).toBe(true);
    const ran = await page.evaluate(() => {
      const { document, __pwned } = globalThis as unknown as InPage;
      return {
        pwned: __pwned,
        images: document.querySelectorAll("img").length,
        scripts: Array.from(document.querySelectorAll("script")).map((script) => script.getAttribute("src")),
      };
    });
    expect(ran).toEqual({ pwned: undefined, images: 0, scripts: ["status.js"] });
    await page.context().close();
  });

  it("lists every source on demand, those with no value at the path too", async () => {
    const page = await openPage();
    const windows = page.locator('article[data-key="windows"]');
    await windows.locator("tr.source").first().waitFor();
    expect(await windows.locator("tr.source").count()).toBe(1);
    await windows.getByRole("button", { name: /Show every source now \(1 more with no value/ }).click();
    const plug = windows.locator("tr.source", { hasText: "zigbee2mqtt/plug" });
    await plug.waitFor();
    expect(await plug.locator(".pill").textContent()).toBe("no value");
    expect(await plug.locator(".reason").textContent()).toBe("no value at the value path");
    // The excluded bridge is no source at all.
    expect(await windows.locator("tr.source", { hasText: "zigbee2mqtt/bridge" }).count()).toBe(0);
    await page.context().close();
  });

  it("filters by rule or by topic", async () => {
    const page = await openPage();
    await page.locator('article[data-key="windows"]').waitFor();
    await page.fill("#filter", "window_left");
    await expect.poll(() => page.locator("section.rule:visible h2").allTextContents()).toEqual(["Windows"]);
    await page.fill("#filter", "humidity");
    await expect
      .poll(() => page.locator("section.rule:visible h2").allTextContents())
      .toEqual(["{room} humidity"]);
    await page.fill("#filter", "home/a/");
    const rows = page.locator('article[data-key="living_room_temperature"] tr.source:visible');
    await expect.poll(() => rows.allTextContents()).toHaveLength(1);
    await page.context().close();
  });

  it("tests a rule against the topics on the broker, at once", async () => {
    const page = await openPage();
    await page.click("#tester summary");
    await page.fill('input[name="topic"]', "tele/+device/SENSOR");
    await page.fill('input[name="value_path"]', "ENERGY.Power");
    const row = page.locator("#tester-results tr.match", { hasText: "tele/plug/SENSOR" });
    await row.waitFor({ timeout: 8_000 });
    expect(await row.locator(".reading").textContent()).toBe("42.5");
    expect(await row.locator(".topic .muted").textContent()).toBe("device = plug");
    // A topic that appears while the tester is open shows up too, without typing again.
    await publish("tele/plug2/SENSOR", JSON.stringify({ ENERGY: { Power: 7 } }));
    await page
      .locator("#tester-results tr.match", { hasText: "tele/plug2/SENSOR" })
      .waitFor({ timeout: 10_000 });
    await page.fill('input[name="topic"]', "zigbee2mqtt/+, !zigbee2mqtt/bridge");
    await page.fill('input[name="value_path"]', "contact");
    const bridge = page.locator("#tester-results tr.match", { hasText: "zigbee2mqtt/bridge" });
    await bridge.waitFor();
    expect(await bridge.locator(".reason").textContent()).toBe("left out by !zigbee2mqtt/bridge");
    await page.fill('input[name="topic"]', "a/#/b");
    await expect
      .poll(() => page.locator("#tester-status").textContent())
      .toMatch(/^topic: "#" must be the last level/);
    await page.context().close();
  });

  it("is readable on a phone, in the dark", async () => {
    const page = await openPage({ width: 360, colorScheme: "dark" });
    await page.locator('article[data-key="living_room_temperature"] tr.source').first().waitFor();
    const layout = await page.evaluate(() => {
      const inPage = globalThis as unknown as InPage;
      const style = inPage.getComputedStyle(inPage.document.body);
      return {
        scrollWidth: inPage.document.documentElement.scrollWidth,
        background: style.backgroundColor,
        text: style.color,
      };
    });
    expect(layout.scrollWidth).toBeLessThanOrEqual(360);
    expect(layout.background).toBe("rgb(17, 17, 17)");
    expect(layout.text).toBe("rgb(225, 225, 225)");
    await page.context().close();
  });

  it("sends the page's own files under a strict policy, and never a secret", async () => {
    const entity = "living_room_temperature";
    const urls = [
      "",
      "status.js",
      "status.css",
      "api/snapshot",
      `api/entity?key=${entity}`,
      "api/payload?topic=home%2Fevil%2Flivingroom%2Ftemperature",
      "api/updates?after=0",
      "api/tester?topic=%23",
    ];
    for (const path of urls) {
      const answer = await request(`${pageUrl}${path}`);
      expect(answer.status, path).toBe(200);
      expect(answer.headers["content-security-policy"], path).toMatch(
        /^default-src 'self'; script-src 'self'/,
      );
      expect(answer.headers["content-security-policy"], path).not.toMatch(/unsafe-inline/);
      expect(answer.headers["x-content-type-options"], path).toBe("nosniff");
      expect(answer.body, path).not.toContain(PASSWORD);
    }
    // Nothing on the page changes anything.
    expect((await request(`${pageUrl}api/snapshot`, { method: "POST" })).status).toBe(405);
    expect(program.output()).not.toContain(PASSWORD);
  });
});
