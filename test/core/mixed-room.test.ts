/**
 * Issue 10: a whole room in one rule, with the payloads as Tasmota, Zigbee2MQTT, Shelly, ESPHome
 * and rtl_433 publish them.
 */
import { describe, expect, it } from "vitest";
import { MAX_READINGS_PER_PAYLOAD } from "../../src/core/payload-readings.js";
import { ReadingsStore } from "../../src/core/readings-store.js";
import { subscriptionsOf } from "../../src/core/subscriptions.js";
import {
  compileOne,
  entitiesAfterRead,
  numberOf,
  onOf,
  fieldProblemsOf,
  readAll,
  readOne,
} from "../support/rules.js";

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const tasmotaAm2301 = (temperature: number, unit = "C") =>
  JSON.stringify({
    Time: "2026-12-01T10:00:00",
    AM2301: { Temperature: temperature, Humidity: 45 },
    TempUnit: unit,
  });
const tasmotaEsp32 = (room: number, chip: number) =>
  JSON.stringify({
    Time: "x",
    ESP32: { Temperature: chip },
    DS18B20: { Id: "01", Temperature: room },
    TempUnit: "C",
  });

describe("value paths with alternatives", () => {
  const livingRoom = () =>
    compileOne({
      name: "Living room temperature",
      topic: "tele/+/SENSOR, zigbee2mqtt/livingroom/+, +/status/temperature:0",
      value_path: "*.Temperature, !ESP32.Temperature, temperature, tC",
      function: "mean",
      unit: "°C",
      device_class: "temperature",
    });

  it("averages a Tasmota AM2301, a Zigbee2MQTT sensor and a Shelly Gen2, without the ESP32's chip", () => {
    const store = new ReadingsStore([livingRoom()]);
    store.ingest("tele/th/SENSOR", tasmotaAm2301(21.4), T0);
    store.ingest("zigbee2mqtt/livingroom/climate", JSON.stringify({ temperature: 22.1, humidity: 50 }), T0);
    store.ingest("shellyplusht-c4/status/temperature:0", JSON.stringify({ id: 0, tC: 21.7, tF: 71.1 }), T0);
    store.ingest("tele/esp/SENSOR", tasmotaEsp32(20.8, 52.2), T0);
    const value = readOne(store, T0 + 1);
    expect(value.fresh).toEqual([
      "tele/th/SENSOR#AM2301",
      "zigbee2mqtt/livingroom/climate",
      "shellyplusht-c4/status/temperature:0",
      "tele/esp/SENSOR#DS18B20",
    ]);
    expect(numberOf(value)).toBeCloseTo((21.4 + 22.1 + 21.7 + 20.8) / 4, 10);
  });

  it("matches keys without regard to case, and tries alternatives in order per source", () => {
    const rule = compileOne({ name: "T", topic: "s/+", value_path: "TEMPERATURE, tC", function: "mean" });
    const store = new ReadingsStore([rule]);
    store.ingest("s/a", JSON.stringify({ Temperature: 20, tC: 99 }), T0);
    store.ingest("s/b", JSON.stringify({ tc: 22 }), T0);
    expect(numberOf(readOne(store, T0))).toBe(21);
  });

  it("counts lights on from Tasmota POWER and Zigbee2MQTT state with `state, $`", () => {
    const rule = compileOne({
      name: "Lights on",
      topic: "stat/+/POWER, zigbee2mqtt/+",
      value_path: "state, $",
      function: "count_on",
    });
    const store = new ReadingsStore([rule]);
    store.ingest("stat/lamp/POWER", "ON", T0);
    store.ingest("stat/spot/POWER", "OFF", T0);
    store.ingest("zigbee2mqtt/ceiling", JSON.stringify({ state: "ON", brightness: 200 }), T0);
    store.ingest("zigbee2mqtt/strip", JSON.stringify({ state: "off" }), T0);
    const value = readOne(store, T0);
    expect(numberOf(value)).toBe(2);
    expect(value.inputs).toBe(4);
  });

  it("reads a key with a dot in brackets", () => {
    const rule = compileOne({
      name: "PM",
      topic: "tele/+/SENSOR",
      value_path: 'PMS5003["PM2.5"]',
      function: "max",
    });
    const store = new ReadingsStore([rule]);
    store.ingest("tele/air/SENSOR", JSON.stringify({ PMS5003: { "PM1.0": 3, "PM2.5": 7, PM10: 9 } }), T0);
    expect(numberOf(readOne(store, T0))).toBe(7);
  });

  it("refuses broken paths with a reason", () => {
    const problems = (value_path: string) =>
      fieldProblemsOf({ rules: [{ name: "x", topic: "a", function: "mean", value_path }] });
    expect(problems('a["b')).toEqual([expect.stringContaining("not closed")]);
    expect(problems("!ESP32.Temperature")).toEqual([expect.stringContaining("only leaves readings out")]);
    expect(problems("temperature_F in furlongs")).toEqual([expect.stringContaining('not "furlongs"')]);
    expect(problems("t in °F")).toEqual([expect.stringContaining("set the rule's unit")]);
  });
});

describe("exclusions", () => {
  it("leaves the bridge and availability topics out of zigbee2mqtt/#", () => {
    const rule = compileOne({
      name: "Lowest battery",
      topic: "zigbee2mqtt/#, !zigbee2mqtt/bridge/#",
      value_path: "battery",
      function: "min",
    });
    const store = new ReadingsStore([rule]);
    store.ingest("zigbee2mqtt/bridge/state", JSON.stringify({ state: "online" }), T0);
    store.ingest("zigbee2mqtt/bridge/info", JSON.stringify({ battery: 1 }), T0);
    store.ingest("zigbee2mqtt/door", JSON.stringify({ battery: 80 }), T0);
    store.ingest("zigbee2mqtt/door/availability", "online", T0);
    const value = readOne(store, T0);
    expect(numberOf(value)).toBe(80);
    expect(value.sources.map((status) => status.topic)).toEqual(["zigbee2mqtt/door"]);
  });

  it("creates a fanned-out entity only once its group has had a usable reading", () => {
    const rule = compileOne({
      name: "{device} battery",
      topic: "zigbee2mqtt/+device",
      value_path: "battery",
      function: "min",
    });
    const store = new ReadingsStore([rule]);
    store.ingest("zigbee2mqtt/bridge", JSON.stringify({ state: "online" }), T0);
    store.ingest("zigbee2mqtt/door", JSON.stringify({ battery: 80 }), T0);
    expect(entitiesAfterRead(store, T0).map((identity) => identity.name)).toEqual(["door battery"]);
  });

  it("refuses an exclusion with named wildcards, or a topic of exclusions only", () => {
    expect(fieldProblemsOf({ rules: [{ name: "x", topic: "a/+, !a/+b", function: "mean" }] })).toEqual([
      expect.stringContaining("plain + and #"),
    ]);
    expect(fieldProblemsOf({ rules: [{ name: "x", topic: "!a/#", function: "mean" }] })).toEqual([
      expect.stringContaining("besides the exclusions"),
    ]);
  });
});

describe("device availability", () => {
  const windows = (extra: Record<string, unknown> = {}) =>
    compileOne({
      name: "Windows",
      topic:
        "zigbee2mqtt/+, tele/+/SENSOR, +/binary_sensor/+/state, shellies/+/sensor/state, +/status/input:0",
      value_path: "contact, DOOR.state, state, $",
      function: "any",
      on_value: "open",
      device_class: "window",
      ...extra,
    });

  it("holds a binary source's last state for a day of silence", () => {
    const store = new ReadingsStore([windows()]);
    store.ingest("zigbee2mqtt/window", JSON.stringify({ contact: "open" }), T0);
    const value = readOne(store, T0 + DAY);
    expect(onOf(value)).toBe(true);
    expect(value.stale).toEqual([]);
  });

  it.each([
    [
      "Zigbee2MQTT",
      "zigbee2mqtt/window",
      JSON.stringify({ contact: "open" }),
      "zigbee2mqtt/window/availability",
      "offline",
      "online",
    ],
    [
      "Zigbee2MQTT JSON",
      "zigbee2mqtt/window",
      JSON.stringify({ contact: "open" }),
      "zigbee2mqtt/window/availability",
      '{"state":"offline"}',
      '{"state":"online"}',
    ],
    [
      "Tasmota",
      "tele/sonoff/SENSOR",
      JSON.stringify({ DOOR: { state: "open" } }),
      "tele/sonoff/LWT",
      "Offline",
      "Online",
    ],
    ["ESPHome", "hall/binary_sensor/window/state", "open", "hall/status", "offline", "online"],
    ["Shelly Gen1", "shellies/door-1/sensor/state", "open", "shellies/door-1/online", "false", "true"],
    [
      "Shelly Gen2",
      "shellyplus1-a8/status/input:0",
      JSON.stringify({ id: 0, state: "open" }),
      "shellyplus1-a8/online",
      "false",
      "true",
    ],
  ])(
    "drops a %s source whose device says offline, and counts it again when back",
    (_, topic, payload, availability, offline, online) => {
      const store = new ReadingsStore([windows()]);
      store.ingest(topic, payload, T0);
      expect(onOf(readOne(store, T0))).toBe(true);
      store.ingest(availability, offline, T0 + HOUR);
      const gone = readOne(store, T0 + HOUR);
      expect(gone.state.kind).toBe("none");
      expect(gone.offline).toEqual([gone.sources[0]?.source]);
      expect(gone.sources[0]?.reason).toBe(`${availability} says offline`);
      store.ingest(availability, online, T0 + 2 * HOUR);
      expect(onOf(readOne(store, T0 + 2 * HOUR))).toBe(true);
    },
  );

  it("knows a device is offline from its retained availability, before its value", () => {
    const store = new ReadingsStore([windows()]);
    store.ingest("zigbee2mqtt/window/availability", "offline", T0);
    store.ingest("zigbee2mqtt/window", JSON.stringify({ contact: "open" }), T0);
    expect(readOne(store, T0).state.kind).toBe("none");
  });

  it("subscribes to the availability topics the rule's filters do not deliver", () => {
    expect(subscriptionsOf([windows()])).toEqual([
      "zigbee2mqtt/+",
      "tele/+/SENSOR",
      "+/binary_sensor/+/state",
      "shellies/+/sensor/state",
      "+/status/input:0",
      "zigbee2mqtt/+/availability",
      "tele/+/LWT",
      "+/status",
      "shellies/+/online",
      "+/online",
    ]);
    expect(subscriptionsOf([windows({ availability: "off" })])).toHaveLength(5);
  });

  it("follows a rule's own availability pattern, or none when switched off", () => {
    const own = compileOne({
      name: "Beacons",
      topic: "home/+/BTtoMQTT/+",
      value_path: "rssi",
      function: "count",
      availability: "{1}/{2}/LWT",
    });
    const store = new ReadingsStore([own]);
    store.ingest("home/OMG_1/BTtoMQTT/aa", JSON.stringify({ rssi: -60 }), T0);
    store.ingest("home/OMG_1/LWT", "offline", T0);
    expect(readOne(store, T0).offline).toEqual(["home/OMG_1/BTtoMQTT/aa"]);
    expect(subscriptionsOf([own])).toEqual(["home/+/BTtoMQTT/+", "home/+/LWT"]);

    const off = new ReadingsStore([windows({ availability: "off" })]);
    off.ingest("zigbee2mqtt/window", JSON.stringify({ contact: "open" }), T0);
    off.ingest("zigbee2mqtt/window/availability", "offline", T0);
    expect(onOf(readOne(off, T0))).toBe(true);
  });

  it("still reads availability topics a rule names literally", () => {
    const rule = compileOne({
      name: "Tasmotas online",
      topic: "tele/+/LWT",
      function: "count_on",
      on_value: "Online",
    });
    const store = new ReadingsStore([rule]);
    store.ingest("tele/a/LWT", "Online", T0);
    store.ingest("tele/b/LWT", "Offline", T0);
    expect(numberOf(readOne(store, T0))).toBe(1);
  });

  it("keeps numeric functions' max_age, and a binary rule's own max_age", () => {
    const mean = compileOne({ name: "T", topic: "s/+", function: "mean" });
    const store = new ReadingsStore([mean, windows({ id: "w", max_age: 60 })]);
    store.ingest("s/a", "20", T0);
    store.ingest("zigbee2mqtt/window", JSON.stringify({ contact: "open" }), T0);
    const { byKey } = readAll(store, T0 + 901_000);
    expect(byKey.get("t")?.stale).toEqual(["s/a"]);
    expect(byKey.get("w")?.stale).toEqual(["zigbee2mqtt/window"]);
  });
});

describe("units and plausible values", () => {
  it("converts °F from Tasmota's TempUnit and from `in °F`, next to °C, into the rule's °C", () => {
    const rule = compileOne({
      name: "Mean",
      topic: "tele/+/SENSOR, rtl_433/+/+, zigbee2mqtt/+",
      value_path: "*.Temperature, temperature_C, temperature_F in °F, temperature",
      function: "mean",
      unit: "°C",
      device_class: "temperature",
    });
    const store = new ReadingsStore([rule]);
    store.ingest("tele/us/SENSOR", tasmotaAm2301(71.6, "F"), T0);
    store.ingest(
      "rtl_433/Acurite-Tower/1234",
      JSON.stringify({ model: "Acurite-Tower", temperature_F: 68 }),
      T0,
    );
    store.ingest("zigbee2mqtt/hall", JSON.stringify({ temperature: 21 }), T0);
    const value = readOne(store, T0);
    expect(value.statusOf["tele/us/SENSOR#AM2301"]?.value).toBe(22);
    expect(value.statusOf["rtl_433/Acurite-Tower/1234"]?.value).toBe(20);
    expect(numberOf(value)).toBeCloseTo(21, 10);
  });

  it("converts kW into W and kWh into Wh, and differences by scale only", () => {
    const power = compileOne({
      name: "P",
      topic: "p/+",
      value_path: "w, kw in kW",
      function: "sum",
      unit: "W",
    });
    const energy = compileOne({
      name: "E",
      topic: "e/+",
      value_path: "wh in Wh, kwh",
      function: "sum",
      unit: "kWh",
    });
    const delta = compileOne({
      name: "D",
      topic: "d/+",
      value_path: "c, f in °F",
      function: "mean",
      unit: "°C",
      device_class: "temperature_delta",
    });
    const store = new ReadingsStore([power, energy, delta]);
    store.ingest("p/a", JSON.stringify({ w: 500 }), T0);
    store.ingest("p/b", JSON.stringify({ kw: 1.5 }), T0);
    store.ingest("e/a", JSON.stringify({ wh: 250 }), T0);
    store.ingest("e/b", JSON.stringify({ kwh: 1 }), T0);
    store.ingest("d/a", JSON.stringify({ f: 9 }), T0);
    const { byKey } = readAll(store, T0);
    expect(numberOf(byKey.get("p"))).toBe(2000);
    expect(numberOf(byKey.get("e"))).toBeCloseTo(1.25, 12);
    expect(numberOf(byKey.get("d"))).toBe(5);
  });

  it("lists a reading whose unit cannot be converted as unusable", () => {
    const rule = compileOne({
      name: "T",
      topic: "tele/+/SENSOR",
      value_path: "*.Temperature",
      function: "mean",
      unit: "°C",
    });
    const store = new ReadingsStore([rule]);
    store.ingest("tele/x/SENSOR", tasmotaAm2301(20, "R"), T0);
    const value = readOne(store, T0);
    expect(value.unusable).toEqual(["tele/x/SENSOR#AM2301"]);
    expect(value.sources[0]?.reason).toBe('the unit "R" cannot be converted to °C');
  });

  it("leaves out Shelly's 999 and an H&T's -99.5 with min_value and max_value", () => {
    const rule = compileOne({
      name: "T",
      topic: "shellies/+/ext_temperature/0, shellies/+/sensor/temperature",
      function: "mean",
      unit: "°C",
      min_value: -40,
      max_value: 80,
    });
    const store = new ReadingsStore([rule]);
    store.ingest("shellies/uni/ext_temperature/0", "999", T0);
    store.ingest("shellies/ht/sensor/temperature", "-99.5", T0);
    store.ingest("shellies/ht2/sensor/temperature", "21.5", T0);
    const value = readOne(store, T0);
    expect(numberOf(value)).toBe(21.5);
    expect(value.outOfRange).toEqual(["shellies/uni/ext_temperature/0", "shellies/ht/sensor/temperature"]);
    expect(value.statusOf["shellies/uni/ext_temperature/0"]?.reason).toBe("999 is above max_value 80");
  });
});

describe("what a read lists and expands", () => {
  it("does not list a source with no value at the path as stale", () => {
    const rule = compileOne({ name: "P", topic: "tele/+/+", value_path: "ENERGY.Power", function: "sum" });
    const store = new ReadingsStore([rule]);
    store.ingest("tele/plug/SENSOR", JSON.stringify({ ENERGY: { Power: 5 } }), T0);
    store.ingest("tele/plug/STATE", JSON.stringify({ Uptime: "1T00:00:00" }), T0);
    const value = readOne(store, T0 + 2_000_000);
    expect(value.stale).toEqual(["tele/plug/SENSOR"]);
    expect(value.counts.no_value).toBe(1);
  });

  it("keeps at most a bounded number of readings per payload and counts the rest", () => {
    const rule = compileOne({ name: "All", topic: "big/+", value_path: "*", function: "count" });
    const store = new ReadingsStore([rule]);
    const huge = Object.fromEntries(Array.from({ length: 5_500 }, (_, index) => [`k${index}`, index]));
    for (let topic = 0; topic < 20; topic += 1) store.ingest(`big/${topic}`, JSON.stringify(huge), T0);
    const value = readOne(store, T0);
    expect(numberOf(value)).toBe(20 * MAX_READINGS_PER_PAYLOAD);
    expect(value.leftOut).toBe(20 * (5_500 - MAX_READINGS_PER_PAYLOAD));
  });

  it("warns once per source when it turns unusable, however many readings it has", () => {
    const rule = compileOne({ name: "T", topic: "s/+", value_path: "*.Temperature", function: "mean" });
    const store = new ReadingsStore([rule]);
    const bad = Object.fromEntries(
      Array.from({ length: 2_000 }, (_, index) => [`k${index}`, { Temperature: "n/a" }]),
    );
    for (let topic = 0; topic < 20; topic += 1) store.ingest(`s/${topic}`, JSON.stringify(bad), T0);
    expect(readAll(store, T0).warnings).toHaveLength(20);
    for (let topic = 0; topic < 20; topic += 1) store.ingest(`s/${topic}`, JSON.stringify(bad), T0 + 1);
    expect(readAll(store, T0 + 1).warnings).toHaveLength(0);
  });
});

describe("found in review", () => {
  it("reads an availability pattern whatever its last level, per rule, beside a rule on the conventions", () => {
    const own = compileOne({
      name: "Lamps",
      topic: "tele/+/POWER",
      function: "count_on",
      availability: "home/{2}/alive",
    });
    const auto = compileOne({ name: "Lamps auto", topic: "tele/+/POWER", function: "count_on" });
    const store = new ReadingsStore([own, auto]);
    store.ingest("tele/lamp/POWER", "ON", T0);
    store.ingest("home/lamp/alive", "offline", T0);
    const { byKey } = readAll(store, T0);
    expect(byKey.get("lamps")?.offline).toEqual(["tele/lamp/POWER"]);
    expect(byKey.get("lamps_auto")?.fresh).toEqual(["tele/lamp/POWER"]);
    store.ingest("tele/lamp/LWT", "Offline", T0 + 1);
    expect(readAll(store, T0 + 1).byKey.get("lamps_auto")?.offline).toEqual(["tele/lamp/POWER"]);
  });

  it("gives `$` among alternatives no value for another device's JSON, rather than an unusable object", () => {
    const rule = compileOne({
      name: "Lights",
      topic: "zigbee2mqtt/+",
      value_path: "state, $",
      function: "count_on",
    });
    const store = new ReadingsStore([rule]);
    store.ingest("zigbee2mqtt/lamp", JSON.stringify({ state: "ON" }), T0);
    store.ingest("zigbee2mqtt/climate", JSON.stringify({ temperature: 21 }), T0);
    const { values, warnings } = readAll(store, T0);
    expect(values[0]?.unusable).toEqual([]);
    expect(warnings).toEqual([]);
    expect(numberOf(values[0])).toBe(1);
  });

  it("does not warn again about a source that stays unusable for one rule while another rule reads it fine", () => {
    const bad = compileOne({ name: "Bad", topic: "s/+", value_path: "a", function: "mean", interval: 10 });
    const good = compileOne({ name: "Good", topic: "s/+", value_path: "b", function: "mean", interval: 20 });
    const store = new ReadingsStore([bad, good]);
    store.ingest("s/x", JSON.stringify({ a: "hot", b: 1 }), T0);
    const warnings = [
      ...readAll(store, T0, ["bad"]).warnings,
      ...readAll(store, T0 + 1, ["good"]).warnings,
      ...readAll(store, T0 + 2, ["bad"]).warnings,
      ...readAll(store, T0 + 3, ["good"]).warnings,
      ...readAll(store, T0 + 4, ["bad"]).warnings,
    ];
    expect(warnings).toHaveLength(1);
  });

  it("leaves out everything under a key with `!ESP32`", () => {
    const rule = compileOne({
      name: "T",
      topic: "tele/+/SENSOR",
      value_path: "*.Temperature, !ESP32",
      function: "mean",
    });
    const store = new ReadingsStore([rule]);
    store.ingest("tele/esp/SENSOR", tasmotaEsp32(20, 50), T0);
    expect(numberOf(readOne(store, T0))).toBe(20);
  });

  it("refuses min_interval on a binary rule, which publishes each change at once", () => {
    expect(
      fieldProblemsOf({ rules: [{ name: "W", topic: "w/+", function: "any", min_interval: 5 }] }),
    ).toEqual([expect.stringContaining("delay_on and delay_off")]);
  });
});
