import { describe, it, expect } from "vitest";

import {
  AMBIGUOUS_UNITS,
  BINARY_SENSOR_DEVICE_CLASSES,
  NON_NUMERIC_SENSOR_DEVICE_CLASSES,
  SENSOR_DEVICE_CLASSES,
  SENSOR_DEVICE_CLASS_STATE_CLASSES,
  SENSOR_DEVICE_CLASS_UNITS,
  STATE_CLASSES,
  binarySensorDeviceClassProblem,
  canonicalUnit,
  sensorDeviceClassProblem,
  stateClassProblem,
  stateClassUnitProblem,
} from "../../src/homeassistant/device-classes.js";

const GREEK_MU = "\u03bc";
const MICRO_SIGN = "\u00b5";

describe("SENSOR_DEVICE_CLASS_UNITS", () => {
  it("leaves out the non-numeric classes and lists them separately", () => {
    expect([...NON_NUMERIC_SENSOR_DEVICE_CLASSES].sort()).toEqual(["date", "enum", "timestamp"]);
    for (const deviceClass of NON_NUMERIC_SENSOR_DEVICE_CLASSES) {
      expect(Object.hasOwn(SENSOR_DEVICE_CLASS_UNITS, deviceClass)).toBe(false);
    }
  });

  it("has a state-class rule for every sensor device class", () => {
    expect(Object.keys(SENSOR_DEVICE_CLASS_STATE_CLASSES).sort()).toEqual([...SENSOR_DEVICE_CLASSES].sort());
  });

  it("spells the micro prefix the way HA does, with the Greek mu", () => {
    const allUnits = Object.values(SENSOR_DEVICE_CLASS_UNITS).flatMap((set) => [...set]);
    expect(allUnits).toContain(`${GREEK_MU}g/m³`);
    expect(allUnits.some((unit) => unit?.includes(MICRO_SIGN))).toBe(false);
    expect(SENSOR_DEVICE_CLASS_UNITS["pm25"]?.has(`${GREEK_MU}g/m³`)).toBe(true);
  });

  it("resolves unit enums to their literal strings", () => {
    expect(SENSOR_DEVICE_CLASS_UNITS["volume_flow_rate"]?.has("m³/h")).toBe(true);
    expect(SENSOR_DEVICE_CLASS_UNITS["pressure"]?.has("inH₂O")).toBe(true);
    expect(SENSOR_DEVICE_CLASS_UNITS["irradiance"]?.has("BTU/(h\u22c5ft²)")).toBe(true);
    expect(SENSOR_DEVICE_CLASS_UNITS["energy"]?.has("kWh")).toBe(true);
  });
});

describe("sensorDeviceClassProblem", () => {
  it("lets temperature take °C, °F and K", () => {
    for (const unit of ["°C", "°F", "K"])
      expect(sensorDeviceClassProblem("temperature", unit)).toBeUndefined();
  });

  it("rejects temperature units HA does not know, naming the ones it does", () => {
    const problem = sensorDeviceClassProblem("temperature", "C");
    expect(problem).toContain('device_class temperature takes unit °C, °F or K, not "C"');
    expect(problem).toContain('did you mean "°C"?');
    expect(sensorDeviceClassProblem("temperature", "degC")).toContain('did you mean "°C"?');
    expect(sensorDeviceClassProblem("temperature", "celsius")).toBeDefined();
  });

  it("wants a unit for temperature", () => {
    expect(sensorDeviceClassProblem("temperature", undefined)).toBe(
      "device_class temperature needs a unit: °C, °F or K",
    );
    expect(sensorDeviceClassProblem("temperature", "  ")).toBe(
      "device_class temperature needs a unit: °C, °F or K",
    );
  });

  it("takes % for humidity and nothing else", () => {
    expect(sensorDeviceClassProblem("humidity", "%")).toBeUndefined();
    expect(sensorDeviceClassProblem("humidity", "g/m³")).toContain("takes unit %");
  });

  it("takes W and kW for power, but not BTU/h", () => {
    expect(sensorDeviceClassProblem("power", "W")).toBeUndefined();
    expect(sensorDeviceClassProblem("power", "kW")).toBeUndefined();
    expect(sensorDeviceClassProblem("power", "BTU/h")).toBeDefined();
    expect(sensorDeviceClassProblem("power", "kw")).toContain('did you mean "kW"?');
  });

  it("allows no unit where HA's set holds None", () => {
    expect(SENSOR_DEVICE_CLASS_UNITS["aqi"]?.has(null)).toBe(true);
    expect(sensorDeviceClassProblem("aqi", undefined)).toBeUndefined();
    expect(sensorDeviceClassProblem("aqi", "AQI")).toBe('device_class aqi takes no unit, not "AQI"');
    expect(sensorDeviceClassProblem("power_factor", undefined)).toBeUndefined();
    expect(sensorDeviceClassProblem("power_factor", "%")).toBeUndefined();
    expect(sensorDeviceClassProblem("power_factor", "x")).toContain("takes unit % or no unit");
  });

  it("accepts the spellings HA rewrites before checking", () => {
    expect(sensorDeviceClassProblem("pm25", `${MICRO_SIGN}g/m³`)).toBeUndefined();
    expect(sensorDeviceClassProblem("reactive_power", "VAr")).toBeUndefined();
    expect(canonicalUnit(`${MICRO_SIGN}g/m³`)).toBe(`${GREEK_MU}g/m³`);
    expect(canonicalUnit("°C")).toBe("°C");
    expect(Object.keys(AMBIGUOUS_UNITS).every((unit) => canonicalUnit(unit) !== unit)).toBe(true);
  });

  it("takes any currency for monetary", () => {
    expect(sensorDeviceClassProblem("monetary", "EUR")).toBeUndefined();
  });

  it("lowercases the device class as HA does", () => {
    expect(sensorDeviceClassProblem("Temperature", "°C")).toBeUndefined();
  });

  it("calls the non-numeric classes out", () => {
    expect(sensorDeviceClassProblem("timestamp", undefined)).toContain("not a number");
    expect(sensorDeviceClassProblem("enum", undefined)).toContain("not a number");
  });

  it("names an unknown class and suggests a close one", () => {
    const problem = sensorDeviceClassProblem("temprature", "°C");
    expect(problem).toContain('unknown sensor device_class "temprature"');
    expect(problem).toContain('did you mean "temperature"?');
    expect(problem).toContain("Home Assistant's sensor device classes");
    expect(sensorDeviceClassProblem("humidty", "%")).toContain('did you mean "humidity"?');
  });

  it("suggests nothing when nothing is close", () => {
    const problem = sensorDeviceClassProblem("flux_capacitance", "GW");
    expect(problem).toContain('unknown sensor device_class "flux_capacitance"');
    expect(problem).not.toContain("did you mean");
  });

  it("does not mistake object prototype names for device classes", () => {
    expect(sensorDeviceClassProblem("constructor", undefined)).toContain("unknown sensor device_class");
    expect(sensorDeviceClassProblem("toString", "x")).toContain("unknown sensor device_class");
  });

  it("points out a binary_sensor class used on a sensor", () => {
    expect(sensorDeviceClassProblem("window", undefined)).toContain("binary_sensor device_class");
  });
});

describe("binarySensorDeviceClassProblem", () => {
  it("knows window, door and opening", () => {
    for (const deviceClass of ["window", "door", "opening"]) {
      expect(BINARY_SENSOR_DEVICE_CLASSES.has(deviceClass)).toBe(true);
      expect(binarySensorDeviceClassProblem(deviceClass)).toBeUndefined();
    }
    expect(BINARY_SENSOR_DEVICE_CLASSES.size).toBe(28);
  });

  it("names an unknown class and suggests a close one", () => {
    const problem = binarySensorDeviceClassProblem("windw");
    expect(problem).toContain('unknown binary_sensor device_class "windw"');
    expect(problem).toContain('did you mean "window"?');
  });

  it("points out a sensor class used on a binary_sensor", () => {
    expect(binarySensorDeviceClassProblem("temperature")).toContain("is a sensor device_class");
    expect(binarySensorDeviceClassProblem("constructor")).toContain("unknown binary_sensor device_class");
  });
});

describe("state classes", () => {
  it("are the four HA has", () => {
    expect(STATE_CLASSES).toEqual(["measurement", "measurement_angle", "total", "total_increasing"]);
  });

  it("allow measurement for temperature, not total_increasing", () => {
    expect(stateClassProblem("temperature", "measurement")).toBeUndefined();
    expect(stateClassProblem("temperature", "total_increasing")).toBe(
      'device_class temperature takes state_class measurement, not "total_increasing"',
    );
  });

  it("want a total for energy", () => {
    expect(stateClassProblem("energy", "total_increasing")).toBeUndefined();
    expect(stateClassProblem("energy", "total")).toBeUndefined();
    expect(stateClassProblem("energy", "measurement")).toContain("total or total_increasing");
  });

  it("take any for a sensor without a device class", () => {
    for (const stateClass of STATE_CLASSES) expect(stateClassProblem(undefined, stateClass)).toBeUndefined();
  });

  it("refuse any state class on a non-numeric device class", () => {
    expect(stateClassProblem("timestamp", "measurement")).toContain("takes no state_class");
  });

  it("give wind_direction measurement_angle only, in degrees", () => {
    expect(stateClassProblem("wind_direction", "measurement_angle")).toBeUndefined();
    expect(stateClassProblem("wind_direction", "measurement")).toContain("measurement_angle");
    expect(stateClassUnitProblem("measurement_angle", "°")).toBeUndefined();
    expect(stateClassUnitProblem("measurement_angle", "deg")).toContain('takes unit °, not "deg"');
    expect(stateClassUnitProblem("measurement", "deg")).toBeUndefined();
  });

  it("name an unknown state class and suggest a close one", () => {
    const problem = stateClassProblem(undefined, "total_increasng");
    expect(problem).toContain('unknown state_class "total_increasng"');
    expect(problem).toContain('did you mean "total_increasing"?');
  });

  it("leave an unknown device class to sensorDeviceClassProblem", () => {
    expect(stateClassProblem("temprature", "measurement")).toBeUndefined();
  });
});
