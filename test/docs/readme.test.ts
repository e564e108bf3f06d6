import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/** The add-on's Info tab shows README.md: its first screen is for Home Assistant users. */
const lines = readFileSync(new URL("../../README.md", import.meta.url), "utf8").split("\n");
const indexOf = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));

describe("README.md", () => {
  it("opens with what the add-on does and how to install it from the store", () => {
    const install = indexOf(/^## Install it in Home Assistant$/);
    expect(install).toBeGreaterThan(0);
    expect(lines.slice(0, install).join(" ")).toMatch(
      /turns many MQTT topics into a few meaningful entities/,
    );
    expect(lines.slice(install, install + 12).join(" ")).toMatch(/Add-on store/);
  });

  it("then gives the two commands for running it outside Home Assistant, within its first 40 lines", () => {
    const first = lines.slice(0, 40);
    const demo = first.findIndex((line) => line.startsWith("npm ci && npm run demo"));
    const test = first.findIndex((line) => line.startsWith("npm ci && npm test"));
    expect(demo).toBeGreaterThan(indexOf(/^## Install it in Home Assistant$/));
    expect(test).toBeGreaterThan(demo);
  });

  it("keeps the development details after both", () => {
    expect(indexOf(/^## Development$/)).toBeGreaterThan(indexOf(/^## Run it outside Home Assistant$/));
  });
});
