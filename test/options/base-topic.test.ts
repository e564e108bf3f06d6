import { describe, expect, it } from "vitest";
import { parseOptions } from "../../src/options/parse-options.js";
import { fieldProblemsOf } from "../support/rules.js";

const STATUS_CLASH = "would be taken for Home Assistant's own status";

describe("base_topic against Home Assistant's topics", () => {
  it("refuses a base_topic equal to discovery_prefix", () => {
    expect(fieldProblemsOf({ base_topic: "homeassistant" })).toEqual([
      `base_topic: must differ from discovery_prefix ("homeassistant"): the add-on's online/offline on homeassistant/status ${STATUS_CLASH}`,
    ]);
    expect(fieldProblemsOf({ base_topic: "ha", discovery_prefix: "ha" })).toEqual([
      `base_topic: must differ from discovery_prefix ("ha"): the add-on's online/offline on ha/status ${STATUS_CLASH}`,
    ]);
  });

  it("refuses homeassistant as base_topic whatever the discovery_prefix", () => {
    expect(fieldProblemsOf({ base_topic: "homeassistant", discovery_prefix: "ha_discovery" })).toEqual([
      `base_topic: must not be homeassistant: the add-on's online/offline on homeassistant/status ${STATUS_CLASH}`,
    ]);
  });

  it("is listed with the rules' problems", () => {
    const rulesOnly = fieldProblemsOf({
      base_topic: "homeassistant",
      rules: [{ name: "Mean", topic: "s/#/x", function: "mean" }],
    });
    expect(rulesOnly).toEqual([
      expect.stringMatching(/^base_topic: must differ from discovery_prefix/),
      expect.stringMatching(/^rules\[0\]\.topic: /),
    ]);
  });

  it("accepts levels that only share letters: topics compare level by level", () => {
    for (const [base, prefix] of [
      ["home", "homeassistant"],
      ["homeassistant_aggregator", "homeassistant"],
      ["mqtt_aggregator", "mqtt"],
      ["HomeAssistant", "homeassistant"],
    ]) {
      expect(parseOptions({ base_topic: base, discovery_prefix: prefix }).ok, `${base} / ${prefix}`).toBe(
        true,
      );
    }
    expect(parseOptions({ discovery_prefix: "ha_discovery" }).ok).toBe(true);
  });
});
