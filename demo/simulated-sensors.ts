import type { MqttClient } from "mqtt";

/**
 * A home in the formats real firmwares publish: Tasmota JSON with the sensor's name as key (one
 * reporting in °F, one on an ESP32 that also reports its chip), Zigbee2MQTT JSON with `contact`
 * (true = closed) and an availability topic, a Shelly Gen2 `temperature:0`, ESPHome plain values.
 */
export function startSimulatedSensors(client: MqttClient, everyMs: number): () => void {
  let tick = 0;
  const publish = (topic: string, payload: string) =>
    void client.publishAsync(topic, payload).catch(() => undefined);
  const wave = (base: number, amplitude: number, phase: number) =>
    Number((base + amplitude * Math.sin((tick + phase) / 5)).toFixed(1));

  const step = () => {
    tick += 1;
    const time = new Date().toISOString();
    publish(
      "tele/tasmota_th1/SENSOR",
      JSON.stringify({
        Time: time,
        AM2301: { Temperature: wave(21.4, 0.6, 0), Humidity: 48 },
        TempUnit: "C",
      }),
    );
    publish(
      "tele/tasmota_us/SENSOR",
      JSON.stringify({ Time: time, SI7021: { Temperature: wave(71.2, 1, 4), Humidity: 45 }, TempUnit: "F" }),
    );
    publish(
      "tele/tasmota_esp32/SENSOR",
      JSON.stringify({
        Time: time,
        ESP32: { Temperature: 52.2 },
        DS18B20: { Id: "01193A4B5C6D", Temperature: wave(21.1, 0.3, 5) },
        TempUnit: "C",
      }),
    );
    publish(
      "shellyhtg3-84fce63a/status/temperature:0",
      JSON.stringify({ id: 0, tC: wave(21.9, 0.4, 3), tF: 71.4 }),
    );
    publish(
      "zigbee2mqtt/livingroom/climate",
      JSON.stringify({ temperature: wave(22.3, 0.3, 7), humidity: 51, battery: 97 }),
    );
    // Every few ticks the left window opens for a while, so the windows entity changes at once.
    const leftOpen = tick % 12 >= 8;
    publish("zigbee2mqtt/livingroom/window_left", JSON.stringify({ contact: !leftOpen, battery: 97 }));
    publish("zigbee2mqtt/livingroom/window_right", JSON.stringify({ contact: true, battery: 91 }));
    publish(
      "zigbee2mqtt/livingroom/ceiling",
      JSON.stringify({ state: tick % 6 < 3 ? "ON" : "OFF", brightness: 200 }),
    );
    publish("stat/tasmota_plug/POWER", "ON");
    publish("desk/light/lamp/state", JSON.stringify({ state: "ON", brightness: 255 }));
    // The right window's Zigbee device drops off the network now and then: it stops counting.
    publish(
      "zigbee2mqtt/livingroom/window_right/availability",
      JSON.stringify({ state: tick % 30 >= 25 ? "offline" : "online" }),
    );
    publish("home/esphome_kitchen/kitchen/temperature", String(wave(23.1, 0.5, 11)));
    publish("home/shelly_bath/bathroom/temperature", String(wave(24.0, 0.5, 2)));
    // A sensor's power-on sentinel, left out by max_value.
    if (tick === 2)
      publish("tele/tasmota_new/SENSOR", JSON.stringify({ AM2301: { Temperature: 999 }, TempUnit: "C" }));
    // A broken device: the aggregator ignores it, lists it, and warns once.
    if (tick === 2)
      publish("tele/tasmota_broken/SENSOR", JSON.stringify({ AM2301: { Temperature: "ERR 0x42" } }));
  };
  step();
  const timer = setInterval(step, everyMs);
  return () => clearInterval(timer);
}
