import type { AvailabilityPart, AvailabilitySetting } from "./rule.js";

/**
 * Where devices say they are online or offline, by firmware. Each convention maps the levels of a
 * source topic (or of a rule's filter, to know what to subscribe to) onto the levels of its
 * device's availability topic:
 *
 * | firmware        | source                               | availability              | payload          |
 * | --------------- | ------------------------------------ | ------------------------- | ---------------- |
 * | Tasmota         | `…/tele/<dev>/…/SENSOR`, `…/stat/…`  | `…/tele/<dev>/…/LWT`      | Online / Offline |
 * | ESPHome         | `<prefix>/<component>/<name>/state`  | `<prefix>/status`         | online / offline |
 * | Shelly Gen1     | `shellies/<id>/…`                    | `shellies/<id>/online`    | true / false     |
 * | Shelly Gen2+    | `<prefix>/status/<component>:<n>`    | `<prefix>/online`         | true / false     |
 * | Zigbee2MQTT     | `<base>/<friendly name>`             | `<source>/availability`   | online / offline, or {"state":…} |
 *
 * Zigbee2MQTT's layout is the least distinctive, so it applies only where no other one does.
 */

/** Last levels of availability topics: such a topic is read as availability, not as a reading. */
export const AVAILABILITY_LEVELS: ReadonlySet<string> = new Set(["availability", "LWT", "online", "status"]);

const ESPHOME_COMPONENTS = new Set([
  "sensor",
  "binary_sensor",
  "switch",
  "light",
  "fan",
  "cover",
  "climate",
  "text_sensor",
  "number",
  "select",
  "lock",
  "valve",
  "button",
  "event",
]);

type Levels = readonly string[];

function tasmota(levels: Levels): string[] | undefined {
  const last = levels.at(-1) ?? "";
  if (last === "LWT" || !(last === "+" || /^[A-Z][A-Z0-9_]*$/.test(last))) return undefined;
  for (let index = levels.length - 2; index >= 0; index -= 1) {
    if (levels[index] === "tele" || levels[index] === "stat") {
      const lwt = [...levels];
      lwt[index] = "tele";
      lwt[lwt.length - 1] = "LWT";
      return lwt;
    }
  }
  return undefined;
}

function esphome(levels: Levels): string[] | undefined {
  if (levels.length < 4 || levels.at(-1) !== "state") return undefined;
  const component = levels.at(-3) ?? "";
  if (component !== "+" && !ESPHOME_COMPONENTS.has(component)) return undefined;
  return [...levels.slice(0, -3), "status"];
}

function shellyGen1(levels: Levels): string[] | undefined {
  if (levels[0] !== "shellies" || levels.length < 3 || levels[2] === "online") return undefined;
  return ["shellies", levels[1] ?? "+", "online"];
}

function shellyGen2(levels: Levels): string[] | undefined {
  if (levels.length < 3) return undefined;
  const [component, last] = [levels.at(-2), levels.at(-1) ?? ""];
  const status = component === "status" && (last === "+" || last.includes(":"));
  const rpc = component === "events" && last === "rpc";
  return status || rpc ? [...levels.slice(0, -2), "online"] : undefined;
}

function zigbee2mqtt(levels: Levels): string[] | undefined {
  const last = levels.at(-1) ?? "";
  if (levels.length < 2 || AVAILABILITY_LEVELS.has(last)) return undefined;
  return [...levels, "availability"];
}

// Shelly Gen1 first: its fixed `shellies` level is the surest sign, and `shellies/+/sensor/state` looks like ESPHome.
const CONVENTIONS = [shellyGen1, tasmota, esphome, shellyGen2] as const;

/** Availability topic levels for the levels of a source topic, or of a filter; `#` yields none. */
function conventionalLevels(levels: Levels): string[] | undefined {
  if (levels.includes("#")) return undefined;
  for (const convention of CONVENTIONS) {
    const found = convention(levels);
    if (found !== undefined) return found;
  }
  return zigbee2mqtt(levels);
}

/** A rule's own pattern, `{1}/{2}/LWT`, filled with the source's levels; undefined past its depth. */
function patternLevels(parts: readonly AvailabilityPart[], levels: Levels): string | undefined {
  let topic = "";
  for (const part of parts) {
    if ("literal" in part) topic += part.literal;
    else {
      const level = levels[part.level];
      if (level === undefined || level === "#") return undefined;
      topic += level;
    }
  }
  return topic;
}

/** The availability topic of a source topic's device under a rule's setting, if it has one. */
export function availabilityTopicOf(topic: string, setting: AvailabilitySetting): string | undefined {
  const levels = topic.split("/");
  if (setting.kind === "off") return undefined;
  if (setting.kind === "pattern") return patternLevels(setting.parts, levels);
  return conventionalLevels(levels)?.join("/");
}

/**
 * Filters to subscribe to so that the availability topics of a filter's sources arrive too. A
 * filter ending in `#` gets none: the conventions put availability beside the readings, under it.
 */
export function availabilitySubscriptionOf(
  subscription: string,
  setting: AvailabilitySetting,
): string | undefined {
  if (setting.kind === "off") return undefined;
  const levels = subscription.split("/");
  if (setting.kind === "pattern") {
    const topic = patternLevels(setting.parts, levels);
    return topic?.includes("#") === true ? undefined : topic;
  }
  return conventionalLevels(levels)?.join("/");
}

/** What an availability payload says: Zigbee2MQTT's JSON form, or a plain word of any firmware. */
export function parseAvailability(payload: string): "online" | "offline" | undefined {
  let text = payload.trim();
  if (text.startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(text);
      const state =
        typeof parsed === "object" && parsed !== null
          ? (parsed as Record<string, unknown>)["state"]
          : undefined;
      if (typeof state !== "string") return undefined;
      text = state;
    } catch {
      return undefined;
    }
  }
  switch (text.toLowerCase()) {
    case "online":
    case "true":
    case "1":
      return "online";
    case "offline":
    case "false":
    case "0":
      return "offline";
    default:
      return undefined;
  }
}

/** Parses `availability: "{1}/{2}/LWT"`: `{n}` is the source topic's n-th level, counted from 1. */
export function parseAvailabilityPattern(
  text: string,
): { ok: true; parts: AvailabilityPart[] } | { ok: false; problem: string } {
  const parts: AvailabilityPart[] = [];
  let rest = text;
  for (let match = /\{(\d+)\}/.exec(rest); match !== null; match = /\{(\d+)\}/.exec(rest)) {
    if (match.index > 0) parts.push({ literal: rest.slice(0, match.index) });
    const level = Number(match[1]);
    if (level < 1 || level > 64) return { ok: false, problem: `{${match[1]}} must count levels from 1` };
    parts.push({ level: level - 1 });
    rest = rest.slice(match.index + match[0].length);
  }
  if (rest !== "") parts.push({ literal: rest });
  if (/[+#]/.test(text))
    return { ok: false, problem: "write levels of the source topic as {1}, {2}, …, not + or #" };
  if (!parts.some((part) => "level" in part))
    return { ok: false, problem: `"${text}" names no level of the source topic, such as {1}/{2}/LWT` };
  return { ok: true, parts };
}
