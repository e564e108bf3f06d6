/** Example rules over the simulated home, with intervals short enough to watch. */
export const demoOptions = {
  log_level: "info",
  first_read_delay: 4,
  read_interval: 5,
  max_age: 60,
  rules: [
    {
      // One mean over four firmwares: Tasmota (°C, and one set to °F), Zigbee2MQTT, Shelly Gen2,
      // without the ESP32's own chip temperature, and without a sensor's power-on sentinel.
      name: "Living room temperature",
      topic: "tele/+/SENSOR, zigbee2mqtt/livingroom/+, +/status/temperature:0",
      value_path: "*.Temperature, !ESP32.Temperature, temperature, tC",
      function: "mean",
      unit: "°C",
      device_class: "temperature",
      state_class: "measurement",
      precision: 1,
      min_value: -40,
      max_value: 60,
    },
    {
      name: "Living room windows",
      topic: "zigbee2mqtt/livingroom/+",
      value_path: "contact",
      function: "any",
      on_value: "false",
      device_class: "window",
    },
    {
      name: "Lights on",
      topic: "stat/+/POWER, zigbee2mqtt/livingroom/+, +/light/+/state",
      value_path: "state, $",
      function: "count_on",
    },
    {
      name: "{room} temperature",
      topic: "home/+/+room/temperature",
      function: "max",
      unit: "°C",
      device_class: "temperature",
      state_class: "measurement",
      precision: 1,
      // One Home Assistant device per room.
      device: "{room}",
    },
  ],
};
