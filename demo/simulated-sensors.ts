import type { MqttClient } from "mqtt";

/**
 * A living room in the formats real firmwares publish: Tasmota JSON with the sensor's name as
 * key, Zigbee2MQTT JSON with `contact` (true = closed), Shelly plain text, ESPHome plain
 * numbers and ON/OFF.
 */
export function startSimulatedSensors(client: MqttClient, everyMs: number): () => void {
  let tick = 0;
  const publish = (topic: string, payload: string) =>
    void client.publishAsync(topic, payload).catch(() => undefined);
  const wave = (base: number, amplitude: number, phase: number) =>
    (base + amplitude * Math.sin((tick + phase) / 5)).toFixed(1);

  const step = () => {
    tick += 1;
    publish(
      "home/tele/tasmota_th1/livingroom/SENSOR",
      JSON.stringify({
        Time: new Date().toISOString(),
        AM2301: { Temperature: Number(wave(21.4, 0.6, 0)), Humidity: 48 },
      }),
    );
    // Two DS18B20 probes on one Tasmota: `*.Temperature` counts each as its own reading.
    publish(
      "home/tele/tasmota_ds/livingroom/SENSOR",
      JSON.stringify({
        Time: new Date().toISOString(),
        "DS18B20-1": { Id: "01193A4B5C6D", Temperature: Number(wave(21.1, 0.3, 5)) },
        "DS18B20-2": { Id: "01193A4B5C7E", Temperature: Number(wave(21.6, 0.3, 9)) },
        TempUnit: "C",
      }),
    );
    publish("home/tele/shelly_ht/livingroom/temperature", wave(21.9, 0.4, 3));
    publish("home/tele/esphome_desk/livingroom/temperature", wave(22.3, 0.3, 7));
    // Every few ticks the left window opens for a while, so the windows entity changes state.
    const leftOpen = tick % 12 >= 8;
    publish("home/tele/z2m/livingroom/window_left", JSON.stringify({ contact: !leftOpen, battery: 97 }));
    publish("home/tele/z2m/livingroom/window_right", JSON.stringify({ contact: true, battery: 91 }));
    publish("home/tele/esphome_lamp/livingroom/light", tick % 6 < 3 ? "ON" : "OFF");
    publish("home/tele/tasmota_plug/livingroom/light", "ON");
    publish("home/tele/esphome_kitchen/kitchen/temperature", wave(23.1, 0.5, 11));
    publish("home/tele/shelly_bath/bathroom/temperature", wave(24.0, 0.5, 2));
    // A broken device: the aggregator ignores it, counts it, and warns once.
    if (tick === 2) publish("home/tele/broken/livingroom/temperature", "ERR 0x42");
  };
  step();
  const timer = setInterval(step, everyMs);
  return () => clearInterval(timer);
}
