import { describe, expect, it } from "vitest";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { parseOptions } from "../../src/options/parse-options.js";
import type { Settings } from "../../src/options/settings.js";
import { numberOf, onOf, readAll } from "../support/rules.js";

/**
 * The seed example: Tasmota temperature sensors and Zigbee2MQTT window contacts in one room,
 * both under home/tele/<device>/livingroom/…, turned into an average temperature and a window sensor.
 */
const OPTIONS_JSON = `{
  "log_level": "info",
  "rules": [
    {
      "name": "Living room temperature",
      "topic": "home/tele/+/livingroom/#",
      "function": "mean",
      "value_path": "*.Temperature",
      "unit": "°C",
      "device_class": "temperature",
      "state_class": "measurement"
    },
    {
      "name": "Living room windows",
      "topic": "home/tele/+/livingroom/#",
      "function": "any",
      "value_path": "contact",
      "on_value": "false",
      "device_class": "window"
    }
  ]
}`;

const T0 = 1_714_557_600_000;
const SECOND = 1000;

const TOPICS = {
  tasmota1: "home/tele/tasmota_1/livingroom/SENSOR",
  tasmota1State: "home/tele/tasmota_1/livingroom/STATE",
  tasmota1Lwt: "home/tele/tasmota_1/livingroom/LWT",
  tasmota2: "home/tele/tasmota_2/livingroom/SENSOR",
  windowLeft: "home/tele/z2m/livingroom/window_left",
  windowRight: "home/tele/z2m/livingroom/window_right",
  kitchen: "home/tele/tasmota_3/kitchen/SENSOR",
} as const;

function tasmotaAm2301(temperature: number): string {
  return JSON.stringify({
    Time: "2024-05-01T12:00:00",
    AM2301: { Temperature: temperature, Humidity: 45.2, DewPoint: 9.1 },
    TempUnit: "C",
  });
}

function tasmotaDs18b20(first: number, second: number): string {
  return JSON.stringify({
    Time: "2024-05-01T12:00:00",
    "DS18B20-1": { Id: "3C01D075F3A1", Temperature: first },
    "DS18B20-2": { Id: "3C01D0757C2B", Temperature: second },
    TempUnit: "C",
  });
}

/** Zigbee2MQTT's contact sensors report contact: true when closed. */
function z2mContact(closed: boolean): string {
  return JSON.stringify({
    battery: 97,
    contact: closed,
    device_temperature: 24,
    linkquality: 132,
    voltage: 3005,
  });
}

function settings(): Settings {
  const result = parseOptions(JSON.parse(OPTIONS_JSON));
  if (!result.ok) throw new Error(result.problems.join("\n"));
  return result.settings;
}

function setUp(): ReadingsStore {
  const store = new ReadingsStore(settings().rules);
  store.ingest(TOPICS.tasmota1, tasmotaAm2301(21.4), T0);
  store.ingest(
    TOPICS.tasmota1State,
    JSON.stringify({ Time: "2024-05-01T12:00:00", Uptime: "0T01:00:00", POWER: "ON" }),
    T0,
  );
  store.ingest(TOPICS.tasmota1Lwt, "Online", T0);
  store.ingest(TOPICS.tasmota2, tasmotaDs18b20(20.5, 22.1), T0);
  store.ingest(TOPICS.windowLeft, z2mContact(true), T0);
  store.ingest(TOPICS.windowRight, z2mContact(true), T0);
  store.ingest(TOPICS.kitchen, tasmotaAm2301(30), T0);
  return store;
}

describe("the living room example", () => {
  it("is valid options and compiles into a sensor and a window binary sensor", () => {
    const [temperature, windows] = settings().rules;
    expect(temperature).toMatchObject({
      key: "living_room_temperature",
      function: "mean",
      valuePaths: [{ text: "*.Temperature", hasWildcard: true }],
      presentation: { unit: "°C", deviceClass: "temperature", stateClass: "measurement" },
    });
    expect(windows).toMatchObject({
      key: "living_room_windows",
      function: "any",
      onValues: ["false"],
      presentation: { unit: undefined, deviceClass: "window", stateClass: undefined },
    });
  });

  it("averages every Tasmota temperature in the room, ignoring other payloads and rooms", () => {
    const store = setUp();
    const temperature = readAll(store, T0 + SECOND).byKey.get("living_room_temperature");
    expect(temperature?.identity.name).toBe("Living room temperature");
    expect(temperature?.identity.objectId).toBe("living_room_temperature");
    expect(numberOf(temperature)).toBeCloseTo((21.4 + 20.5 + 22.1) / 3, 10);
    expect(temperature?.inputs).toBe(3);
    expect(temperature?.fresh).toEqual([
      `${TOPICS.tasmota1}#AM2301`,
      `${TOPICS.tasmota2}#DS18B20-1`,
      `${TOPICS.tasmota2}#DS18B20-2`,
    ]);
    expect(temperature?.stale).toEqual([]);
  });

  it("is OFF (closed) while every window reports contact true", () => {
    const store = setUp();
    const windows = readAll(store, T0 + SECOND).byKey.get("living_room_windows");
    expect(windows?.state).toEqual({ kind: "binary", on: false });
    expect(windows?.inputs).toBe(2);
    expect(windows?.fresh).toEqual([TOPICS.windowLeft, TOPICS.windowRight]);
  });

  it("is ON (open) as soon as one window reports contact false", () => {
    const store = setUp();
    store.ingest(TOPICS.windowLeft, z2mContact(false), T0 + 10 * SECOND);
    const windows = readAll(store, T0 + 11 * SECOND).byKey.get("living_room_windows");
    expect(onOf(windows)).toBe(true);
    store.ingest(TOPICS.windowLeft, z2mContact(true), T0 + 20 * SECOND);
    expect(onOf(readAll(store, T0 + 21 * SECOND).byKey.get("living_room_windows"))).toBe(false);
  });

  it("drops temperatures older than the default max_age of 900 s, and holds window states", () => {
    const store = setUp();
    store.ingest(TOPICS.tasmota2, tasmotaDs18b20(19.0, 19.6), T0 + 600 * SECOND);
    store.ingest(TOPICS.windowLeft, z2mContact(false), T0 + 600 * SECOND);

    const at = T0 + 901 * SECOND;
    const { byKey } = readAll(store, at);
    const temperature = byKey.get("living_room_temperature");
    expect(numberOf(temperature)).toBeCloseTo(19.3, 10);
    expect(temperature?.stale).toContain(`${TOPICS.tasmota1}#AM2301`);
    expect(temperature?.fresh).toEqual([`${TOPICS.tasmota2}#DS18B20-1`, `${TOPICS.tasmota2}#DS18B20-2`]);
    // Contact sensors report only when they change: both windows still count, one open.
    const windows = byKey.get("living_room_windows");
    expect(onOf(windows)).toBe(true);
    expect(windows?.inputs).toBe(2);
    expect(windows?.stale).toEqual([]);

    // Once every temperature is stale there is no value at all: unavailable, never 0.
    const later = readAll(store, T0 + 1501 * SECOND).byKey;
    expect(later.get("living_room_temperature")?.state.kind).toBe("none");
    expect(onOf(later.get("living_room_windows"))).toBe(true);
  });
});
