import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import { DEFAULT_HEARTBEAT_PATH } from "../../src/persistence/heartbeat.js";
import { exists, readText, readYamlRecord, repoPath } from "./repo.js";

const config = readYamlRecord("config.yaml");
const packageJson = JSON.parse(readText("package.json")) as { version: string };

/**
 * Keys with a default in the add-on linter's schema (frenck/action-addon-linter, config.schema.json);
 * the linter fails an add-on that sets one of them to its default.
 */
const LINTER_DEFAULTS: Readonly<Record<string, unknown>> = {
  advanced: false,
  apparmor: true,
  audio: false,
  auth_api: false,
  auto_uart: false,
  backup: "hot",
  boot: "auto",
  devicetree: false,
  docker_api: false,
  full_access: false,
  gpio: false,
  hassio_api: false,
  hassio_role: "default",
  homeassistant: false,
  homeassistant_api: false,
  host_dbus: false,
  host_ipc: false,
  host_network: false,
  host_pid: false,
  host_uts: false,
  ingress: false,
  ingress_port: 8099,
  ingress_stream: false,
  init: true,
  journald: false,
  kernel_modules: false,
  legacy: false,
  options: {},
  panel_admin: true,
  panel_icon: "mdi:puzzle",
  realtime: false,
  schema: {},
  stage: "stable",
  startup: "application",
  stdin: false,
  timeout: 10,
  tmpfs: false,
  uart: false,
  udev: false,
  ulimits: {},
  usb: false,
  video: false,
};

/** The linter's schema allows no other keys (additionalProperties: false). */
const LINTER_KEYS_WITHOUT_DEFAULT = [
  "arch",
  "backup_exclude",
  "backup_pre",
  "backup_post",
  "breaking_versions",
  "codenotary",
  "description",
  "devices",
  "discovery",
  "environment",
  "image",
  "ingress_entry",
  "machine",
  "map",
  "name",
  "panel_title",
  "ports",
  "ports_description",
  "privileged",
  "services",
  "slug",
  "url",
  "version",
  "watchdog",
  "webui",
];

describe("config.yaml", () => {
  it("has the keys the Supervisor and the store need", () => {
    for (const key of ["name", "version", "slug", "description", "arch", "url"]) {
      expect(config[key], key).toBeDefined();
    }
    expect(config["name"]).toBe("MQTT Aggregator");
    expect(config["slug"]).toBe("mqtt_aggregator");
    expect(config["slug"]).toMatch(/^[-_.A-Za-z0-9]+$/);
    expect(typeof config["description"]).toBe("string");
    expect(config["url"]).toMatch(/^https:\/\/github\.com\/[^/]+\/[^/]+$/);
  });

  it("is at package.json's version, as a string", () => {
    expect(typeof config["version"]).toBe("string");
    expect(config["version"]).toBe(packageJson.version);
  });

  it("runs on aarch64 and amd64 only", () => {
    expect(config["arch"]).toEqual(expect.arrayContaining(["aarch64", "amd64"]));
    expect(config["arch"]).toHaveLength(2);
  });

  it("leaves Docker's init to s6-overlay and needs the MQTT service", () => {
    expect(config["init"]).toBe(false);
    expect(config["services"]).toContain("mqtt:need");
    for (const service of config["services"] as unknown[]) {
      expect(service).toMatch(/^(mqtt|mysql):(provide|want|need)$/);
    }
  });

  it("asks for no Supervisor or Home Assistant API access", () => {
    for (const key of [
      "hassio_api",
      "homeassistant_api",
      "hassio_role",
      "host_network",
      "privileged",
      "full_access",
    ]) {
      expect(config, key).not.toHaveProperty(key);
    }
  });

  it("sets no key to its default and no key the linter does not know", () => {
    const known = new Set([...Object.keys(LINTER_DEFAULTS), ...LINTER_KEYS_WITHOUT_DEFAULT]);
    for (const [key, value] of Object.entries(config)) {
      expect(known.has(key), `unknown key ${key}`).toBe(true);
      if (key in LINTER_DEFAULTS) {
        expect(
          isDeepStrictEqual(value, LINTER_DEFAULTS[key]),
          `${key}: ${JSON.stringify(value)} is the default`,
        ).toBe(false);
      }
    }
  });
});

describe("ingress", () => {
  it("puts the status page in the sidebar on the default ingress port", () => {
    expect(config["ingress"]).toBe(true);
    // 8099 is the default, which the linter wants left out; the program listens there.
    expect(config).not.toHaveProperty("ingress_port");
    expect(config["panel_title"]).toBe("MQTT Aggregator");
    expect(config["panel_icon"]).toMatch(/^mdi:[a-z0-9-]+$/);
  });

  it("passes the linter's ingress checks: no webui, and no random port off the host network", () => {
    // frenck/action-addon-linter (lint.py): "'webui' should be removed, Ingress is enabled", and an
    // ingress_port of 0 only with host_network.
    expect(config).not.toHaveProperty("webui");
    expect(config).not.toHaveProperty("ports");
    if (config["host_network"] !== true) expect(config["ingress_port"] ?? 8099).not.toBe(0);
  });
});

describe("the prebuilt image", () => {
  const workflowPath = ".github/workflows/publish-image.yaml";

  it("has one generic multi-arch name in config.yaml, without {arch}", () => {
    expect(config["image"]).toBe("ghcr.io/mqtt-aggregator/mqtt-aggregator");
    expect(String(config["image"])).not.toContain("{arch}");
    // Still there for a Supervisor that builds on the device.
    expect(exists("build.yaml")).toBe(true);
  });

  it("is built and published by a workflow the Supervisor does not take for an add-on file", () => {
    expect(exists(workflowPath)).toBe(true);
    const name = workflowPath.split("/").at(-1) ?? "";
    expect(name).not.toMatch(/^(config|build|repository)\./);
  });

  it("is built with Home Assistant's composable builder actions, and published with a manifest on a release", () => {
    const workflow = readYamlRecord(workflowPath);
    const jobs = workflow["jobs"] as Record<
      string,
      { steps?: { uses?: string; with?: Record<string, unknown> }[] }
    >;
    const uses = Object.values(jobs).flatMap((job) => (job.steps ?? []).map((step) => step.uses ?? ""));
    for (const action of ["prepare-multi-arch-matrix", "build-image", "publish-multi-arch-manifest"])
      expect(
        uses.some((used) => used.startsWith(`home-assistant/builder/actions/${action}@`)),
        action,
      ).toBe(true);
    // Not the monolithic builder, removed in 2026.06.
    expect(uses.some((used) => /^home-assistant\/builder@/.test(used))).toBe(false);
    const build = (jobs["build"]?.steps ?? []).find((step) => step.uses?.includes("/build-image@"));
    expect(build?.with?.["context"]).toBe(".");
    expect(String(build?.with?.["push"])).toContain("release");
  });
});

describe("apparmor.txt", () => {
  it("exists while AppArmor is on, with one top-level profile named after the slug", () => {
    if (config["apparmor"] === false) return;
    expect(exists("apparmor.txt")).toBe(true);
    const text = readText("apparmor.txt");
    // The Supervisor's RE_PROFILE (supervisor/utils/apparmor.py): exactly one line may match.
    const names = text
      .split("\n")
      .map((line) => /^profile ([^ ]+).*$/.exec(line)?.[1])
      .filter((name) => name !== undefined);
    const expected = typeof config["apparmor"] === "string" ? config["apparmor"] : config["slug"];
    expect(names).toEqual([expected]);
  });

  it("lets the program's own profile receive s6's signals under the name the Supervisor gives", () => {
    const text = readText("apparmor.txt");
    const slug = String(config["slug"]);
    // The Supervisor loads the profile as "<repository>_<slug>".
    expect(text).toContain(`signal (receive) peer=*_${slug},`);
    expect(text).toMatch(/^\s+\/usr\/bin\/node cx -> (\S+),$/m);
    const child = /^\s+\/usr\/bin\/node cx -> (\S+),$/m.exec(text)?.[1] ?? "";
    expect(text).toMatch(new RegExp(`^\\s+profile ${child} flags=`, "m"));
  });

  it("lets the program write its heartbeat where the health check reads it", () => {
    const text = readText("apparmor.txt");
    const child = text.slice(text.search(/^\s+profile /m));
    const dir = posix.dirname(DEFAULT_HEARTBEAT_PATH);
    expect(child).toContain(`  ${dir}/ rw,`);
    expect(child).toContain(`  ${dir}/** rw,`);
  });

  it("lets the program listen on TCP for the ingress proxy, over IPv4 and IPv6", () => {
    const text = readText("apparmor.txt");
    const child = /^\s+\/usr\/bin\/node cx -> (\S+),$/m.exec(text)?.[1] ?? "";
    const profile = text.slice(text.search(new RegExp(`^\\s+profile ${child} flags=`, "m")));
    // A network rule naming only family and type allows every operation: connect, bind, listen, accept.
    expect(profile).toMatch(/^\s+network inet stream,$/m);
    expect(profile).toMatch(/^\s+network inet6 stream,$/m);
  });
});

describe("the store entry", () => {
  it("has a square 128x128 icon and a logo of about 250x100", () => {
    expect(pngSize("icon.png")).toEqual({ width: 128, height: 128 });
    const logo = pngSize("logo.png");
    expect(logo.width).toBeGreaterThanOrEqual(200);
    expect(logo.width).toBeLessThanOrEqual(300);
    expect(logo.height).toBeGreaterThanOrEqual(80);
    expect(logo.height).toBeLessThanOrEqual(120);
  });

  it("has a changelog entry for this version", () => {
    expect(readText("CHANGELOG.md")).toMatch(
      new RegExp(`^## ${packageJson.version.replace(/\./g, "\\.")}$`, "m"),
    );
  });

  it("has repository.yaml naming the repository", () => {
    const repository = readYamlRecord("repository.yaml");
    expect(typeof repository["name"]).toBe("string");
    expect(repository["url"]).toBe(config["url"]);
    expect(typeof repository["maintainer"]).toBe("string");
  });
});

function pngSize(path: string): { width: number; height: number } {
  const bytes = readFileSync(repoPath(path));
  expect(
    bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
    path,
  ).toBe(true);
  expect(bytes.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
