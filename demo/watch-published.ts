import type { MqttClient } from "mqtt";
import type { Settings } from "../src/options/settings.js";

interface Shown {
  name: string;
  unit: string;
  inputs: number;
}

/** Prints the add-on's discovery configs, states and availability as lines a person can read. */
export async function watchPublished(
  client: MqttClient,
  settings: Settings,
  print: (line: string) => void,
): Promise<void> {
  const entities = new Map<string, Shown>();
  const base = settings.baseTopic;
  const time = () => new Date().toTimeString().slice(0, 8);
  client.on("message", (topic, payload) => {
    const text = payload.toString();
    const parts = topic.split("/");
    // One config per device, holding its entities (device-based discovery).
    if (
      parts[0] === settings.discoveryPrefix &&
      parts[1] === "device" &&
      parts[4] === "config" &&
      text !== ""
    ) {
      const config = JSON.parse(text) as {
        dev: { name: string };
        cmps: Record<
          string,
          { name: string | null; default_entity_id: string; unit_of_measurement?: string }
        >;
      };
      for (const [key, component] of Object.entries(config.cmps)) {
        if (entities.has(key)) continue;
        const name = component.name === null ? config.dev.name : component.name;
        entities.set(key, { name, unit: component.unit_of_measurement ?? "", inputs: 0 });
        print(
          `[${time()}] new entity  ${component.default_entity_id}  "${name}" on device "${config.dev.name}"`,
        );
      }
      return;
    }
    if (parts[0] !== base || parts.length !== 3) return;
    const shown = entities.get(parts[1] ?? "");
    if (shown === undefined) return;
    if (parts[2] === "attributes") shown.inputs = (JSON.parse(text) as { inputs: number }).inputs;
    if (parts[2] === "state") {
      print(
        `[${time()}] ${shown.name} = ${text}${shown.unit === "" ? "" : ` ${shown.unit}`}  (from ${shown.inputs} input${shown.inputs === 1 ? "" : "s"})`,
      );
    }
    if (parts[2] === "availability" && text === "offline")
      print(`[${time()}] ${shown.name} is unavailable (see its attributes for why)`);
  });
  await client.subscribeAsync([`${settings.discoveryPrefix}/+/${base}/+/config`, `${base}/+/+`]);
}
