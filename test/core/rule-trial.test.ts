import { describe, expect, it } from "vitest";
import { tryRule, type TrialResult } from "../../src/core/rule-trial.js";
import { SAMPLED_PAYLOAD_BYTES, SAMPLED_TOPIC_CHARS, TopicSample } from "../../src/core/topic-sample.js";

const T0 = 1_700_000_000_000;

describe("the topic sample", () => {
  it("keeps the latest payload of each topic, dropping the least recently updated past its limit", () => {
    const sample = new TopicSample([], 3);
    sample.note("a", "1", 1, T0);
    sample.note("b", "2", 1, T0 + 1);
    sample.note("c", "3", 1, T0 + 2);
    sample.note("a", "4", 1, T0 + 3); // a is the newest now; b the oldest
    sample.note("d", "5", 1, T0 + 4);
    expect(sample.size).toBe(3);
    expect([...sample.entries()].map((entry) => `${entry.topic}=${entry.payload}`)).toEqual([
      "c=3",
      "a=4",
      "d=5",
    ]);
  });

  it("skips the add-on's own topics and topics too long to be anyone's rule", () => {
    const sample = new TopicSample(["mqtt_aggregator/", "homeassistant/"]);
    sample.note("mqtt_aggregator/x/state", "1", 1, T0);
    sample.note("homeassistant/sensor/x/config", "{}", 2, T0);
    sample.note(`a/${"x".repeat(SAMPLED_TOPIC_CHARS)}`, "1", 1, T0);
    sample.note("tele/plug/SENSOR", "{}", 2, T0);
    expect([...sample.entries()].map((entry) => entry.topic)).toEqual(["tele/plug/SENSOR"]);
    sample.clear();
    expect(sample.size).toBe(0);
  });
});

function sampleOf(entries: Record<string, string>): TopicSample {
  const sample = new TopicSample();
  let at = T0;
  for (const [topic, payload] of Object.entries(entries))
    sample.note(topic, payload.slice(0, SAMPLED_PAYLOAD_BYTES), Buffer.byteLength(payload), at++);
  return sample;
}

function matchesOf(result: TrialResult) {
  if (!result.ok) throw new Error(`${result.field}: ${result.problem}`);
  return result.matches;
}

describe("the rule tester", () => {
  const sample = sampleOf({
    "tele/th1/SENSOR": '{"AM2301":{"Temperature":21.4,"Humidity":48}}',
    "tele/esp32/SENSOR": '{"ESP32":{"Temperature":52.2},"DS18B20":{"Temperature":71.6},"TempUnit":"F"}',
    "tele/th1/LWT": "Online",
    "tele/th1/STATE": '{"POWER":"ON"}',
    "zigbee2mqtt/bridge/state": '{"state":"online"}',
    "zigbee2mqtt/livingroom/window": '{"contact":false}',
    "shellies/bath/sensor/temperature": "22.5",
  });
  const none = () => undefined;

  it("finds the matching topics and what each would yield, as a read finds it", () => {
    const result = tryRule(
      {
        topic: "tele/+device/SENSOR, tele/+device/STATE",
        valuePath: "*.Temperature, !ESP32.Temperature",
        unit: "°C",
      },
      sample.entries(),
      none,
    );
    expect(result).toMatchObject({ ok: true, matched: 3, withReadings: 2, converts: true });
    const matches = matchesOf(result);
    expect(matches.map((match) => match.topic)).toEqual([
      "tele/esp32/SENSOR",
      "tele/th1/SENSOR",
      "tele/th1/STATE",
    ]);
    expect(matches[0]).toMatchObject({
      captures: { device: "esp32" },
      readings: [{ source: "tele/esp32/SENSOR#DS18B20", kind: "number", value: 22, unit: "°C" }],
    });
    expect(matches[1]?.readings).toEqual([
      { source: "tele/th1/SENSOR#AM2301", kind: "number", value: 21.4, unit: "°C", why: undefined },
    ]);
    // No value at the path: matched, but gives nothing.
    expect(matches[2]).toMatchObject({ readings: [], skipped: undefined, receivedAt: T0 + 3 });
  });

  it("says which topics an exclusion or the availability convention leaves out", () => {
    const matches = matchesOf(
      tryRule(
        { topic: "zigbee2mqtt/#, !zigbee2mqtt/bridge/#", valuePath: "contact", unit: "" },
        sample.entries(),
        none,
      ),
    );
    expect(matches.map((match) => [match.topic, match.skipped])).toEqual([
      ["zigbee2mqtt/bridge/state", "left out by !zigbee2mqtt/bridge/#"],
      ["zigbee2mqtt/livingroom/window", undefined],
    ]);
    expect(matches[1]?.readings).toMatchObject([{ kind: "boolean", value: false }]);
    const lwt = matchesOf(tryRule({ topic: "tele/th1/#", valuePath: "", unit: "" }, sample.entries(), none));
    expect(lwt.find((match) => match.topic === "tele/th1/LWT")?.skipped).toMatch(/availability topic/);
    const named = matchesOf(
      tryRule({ topic: "tele/+/LWT", valuePath: "", unit: "" }, sample.entries(), none),
    );
    expect(named[0]?.readings).toMatchObject([{ kind: "text", value: "Online" }]);
  });

  it("reads a plain payload without a value path, and reports an unusable one with the reason", () => {
    const plain = matchesOf(
      tryRule({ topic: "shellies/+/sensor/temperature", valuePath: "", unit: "" }, sample.entries(), none),
    );
    expect(plain[0]?.readings).toMatchObject([{ kind: "number", value: 22.5 }]);
    const object = matchesOf(
      tryRule({ topic: "tele/th1/SENSOR", valuePath: "AM2301", unit: "" }, sample.entries(), none),
    );
    expect(object[0]?.readings).toMatchObject([
      { kind: "unusable", why: expect.stringContaining("an object with the keys") as unknown },
    ]);
  });

  it("reads a long payload whole where the add-on keeps it, and says so where it does not", () => {
    const long = JSON.stringify({ temperature: 20, padding: "x".repeat(SAMPLED_PAYLOAD_BYTES) });
    const sampled = sampleOf({ "z/long": long });
    const input = { topic: "z/+", valuePath: "temperature", unit: "" };
    expect(matchesOf(tryRule(input, sampled.entries(), none))[0]?.skipped).toMatch(
      /longer than the 2048 bytes/,
    );
    const kept = matchesOf(
      tryRule(input, sampled.entries(), (topic) => (topic === "z/long" ? long : undefined)),
    );
    expect(kept[0]?.readings).toMatchObject([{ value: 20 }]);
  });

  it("names the field and the problem of a filter or path a rule could not have", () => {
    expect(tryRule({ topic: "a/#/b", valuePath: "", unit: "" }, [], none)).toEqual({
      ok: false,
      field: "topic",
      problem: '"#" must be the last level of "a/#/b"',
    });
    expect(tryRule({ topic: "a/b", valuePath: "a..b", unit: "" }, [], none)).toMatchObject({
      ok: false,
      field: "value_path",
    });
  });

  it("shows at most the limit of matches and counts them all", () => {
    const many = new TopicSample();
    for (let index = 0; index < 300; index += 1) many.note(`s/${index}`, String(index), 3, T0);
    const result = tryRule({ topic: "s/+", valuePath: "", unit: "" }, many.entries(), none, 50);
    expect(result).toMatchObject({ ok: true, matched: 300, withReadings: 300 });
    expect(matchesOf(result)).toHaveLength(50);
  });
});
