/** Example rules over the simulated living room, with intervals short enough to watch. */
export const demoOptions = {
  log_level: "info",
  first_read_delay: 2,
  read_interval: 5,
  max_age: 60,
  rules: [
    {
      name: "Living room temperature",
      topic: "home/tele/+/livingroom/#",
      value_path: "*.Temperature",
      function: "mean",
      unit: "°C",
      device_class: "temperature",
      state_class: "measurement",
      precision: 1,
    },
    {
      name: "Living room temperature (plain sensors)",
      id: "living_room_plain_temperature",
      topic: "home/tele/+/livingroom/temperature",
      function: "median",
      unit: "°C",
      device_class: "temperature",
      state_class: "measurement",
      precision: 1,
    },
    {
      name: "Living room windows",
      topic: "home/tele/z2m/livingroom/+",
      value_path: "contact",
      function: "any",
      on_value: "false",
      device_class: "window",
    },
    {
      name: "Living room lights on",
      topic: "home/tele/+/livingroom/light",
      function: "count_on",
      on_value: "ON",
    },
    {
      name: "{room} temperature",
      topic: "home/tele/+/+room/temperature",
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
