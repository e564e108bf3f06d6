import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_HEARTBEAT_PATH, heartbeatLine } from "../../src/persistence/heartbeat.js";
import { healthCheckCommand, runHealthCheck } from "../support/health-check.js";
import { asRecord, exists, readText, readYamlRecord } from "./repo.js";

const BASE_IMAGE = "ghcr.io/home-assistant/base:3.23";
// The Supervisor's RE_DOCKER_IMAGE_BUILD (supervisor/addons/validate.py).
const RE_DOCKER_IMAGE_BUILD = /^([a-zA-Z\-.:\d{}]+\/)*?([-\w{}]+)\/([-\w{}]+)(:[.\-\w{}]+)?$/;

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Instructions with comments dropped and `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const lines = text.split("\n").filter((line) => !line.trim().startsWith("#"));
  const joined: string[] = [];
  let pending = "";
  for (const line of lines) {
    const trimmed = line.trimEnd();
    if (trimmed.endsWith("\\")) {
      pending += `${trimmed.slice(0, -1).trim()} `;
      continue;
    }
    joined.push((pending + trimmed.trim()).trim());
    pending = "";
  }
  if (pending !== "") joined.push(pending.trim());
  return joined
    .filter((line) => line !== "")
    .map((line) => {
      const [keyword = "", ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
}

const instructions = parseDockerfile(readText("Dockerfile"));
const firstFrom = instructions.findIndex((instruction) => instruction.keyword === "FROM");
const globalArgs = instructions.slice(0, firstFrom);
const stages: Stage[] = [];
for (const instruction of instructions.slice(firstFrom)) {
  if (instruction.keyword === "FROM") {
    const [from = "", as, name] = instruction.args.split(/\s+/);
    stages.push({ from, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
  } else {
    stages.at(-1)?.instructions.push(instruction);
  }
}
const shipping = stages.at(-1);

function stageNamed(name: string): Stage | undefined {
  return stages.find((stage) => stage.name === name);
}

/** Where each instruction of a stage runs: WORKDIR applied in order, from /. */
function withWorkdirs(stage: Stage): { instruction: Instruction; workdir: string }[] {
  let workdir = "/";
  return stage.instructions.map((instruction) => {
    if (instruction.keyword === "WORKDIR") workdir = posix.resolve(workdir, instruction.args);
    return { instruction, workdir };
  });
}

interface Copy {
  readonly from: string | undefined;
  readonly sources: string[];
  readonly destination: string;
  readonly workdir: string;
}

function copies(stage: Stage): Copy[] {
  return withWorkdirs(stage)
    .filter(({ instruction }) => instruction.keyword === "COPY" || instruction.keyword === "ADD")
    .map(({ instruction, workdir }) => {
      const tokens = instruction.args.split(/\s+/);
      const from = tokens.find((token) => token.startsWith("--from="))?.slice("--from=".length);
      const paths = tokens.filter((token) => !token.startsWith("--"));
      return { from, sources: paths.slice(0, -1), destination: paths.at(-1) ?? "", workdir };
    });
}

/** Where a copied file lands, or the folder a copied folder's contents land in (Docker copies a folder's contents). */
function landing(copy: Copy, source: string, isFolder: boolean): string {
  const target = posix.resolve(copy.workdir, copy.destination);
  return copy.destination.endsWith("/") && !isFolder ? posix.join(target, posix.basename(source)) : target;
}

function runs(stage: Stage): string[] {
  return stage.instructions
    .filter((instruction) => instruction.keyword === "RUN")
    .map((instruction) => instruction.args);
}

/** Paths .dockerignore keeps out of the build context (no negations are used). */
function dockerIgnored(path: string): boolean {
  const patterns = readText(".dockerignore")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  expect(patterns.some((pattern) => pattern.startsWith("!"))).toBe(false);
  const parts = path.split("/");
  return patterns.some((pattern) => {
    const regex = new RegExp(
      `^${pattern
        .replace(/^\//, "")
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*\*/g, "<globstar>")
        .replace(/\*/g, "[^/]*")
        .replace(/\?/g, "[^/]")
        .replace(/<globstar>/g, ".*")}$`,
    );
    return parts.some((_, index) => regex.test(parts.slice(0, index + 1).join("/")));
  });
}

describe("Dockerfile", () => {
  it("takes the Home Assistant base image by default, before any FROM", () => {
    expect(firstFrom).toBeGreaterThan(0);
    expect(globalArgs).toContainEqual({ keyword: "ARG", args: `BUILD_FROM=${BASE_IMAGE}` });
  });

  it("ships a stage built FROM ${BUILD_FROM}", () => {
    expect(shipping?.from).toMatch(/^\$\{?BUILD_FROM\}?$/);
    for (const stage of stages) expect(stage.from, stage.name).toMatch(/^\$\{?BUILD_FROM\}?$/);
  });

  it("puts dist/ where the run script starts the program, with package.json beside it", () => {
    if (shipping === undefined) throw new Error("no stage");
    const run = readText("rootfs/etc/s6-overlay/s6-rc.d/mqtt-aggregator/run");
    const started = /^exec node (?:--\S+ )*(\/\S+\.js)$/m.exec(run)?.[1];
    expect(started).toBe("/app/dist/main.js");
    const packageJson = JSON.parse(readText("package.json")) as { main: string };

    const shipped = copies(shipping);
    const distCopy = shipped.find((copy) => copy.sources.some((source) => posix.basename(source) === "dist"));
    if (distCopy === undefined) throw new Error("dist/ is not copied into the shipped image");
    const distDir = landing(distCopy, "dist", true);
    const appDir = posix.dirname(distDir);
    expect(posix.join(appDir, packageJson.main)).toBe(started);
    // main.js reads ../package.json for its version, and Node needs its "type": "module".
    const packageCopy = shipped.find(
      (copy) => copy.from === undefined && copy.sources.includes("package.json"),
    );
    if (packageCopy === undefined) throw new Error("package.json is not copied into the shipped image");
    expect(landing(packageCopy, "package.json", false)).toBe(posix.join(appDir, "package.json"));
    const modulesCopy = shipped.find((copy) =>
      copy.sources.some((source) => posix.basename(source) === "node_modules"),
    );
    if (modulesCopy === undefined) throw new Error("node_modules is not copied into the shipped image");
    expect(landing(modulesCopy, "node_modules", true)).toBe(posix.join(appDir, "node_modules"));
  });

  it("copies only what the repository has or an earlier stage produced", () => {
    const tsconfigBuild = JSON.parse(readText("tsconfig.build.json")) as {
      compilerOptions?: { outDir?: string };
    };
    const outDir = tsconfigBuild.compilerOptions?.outDir ?? "";
    expect(outDir).toBe("dist");
    stages.forEach((stage, index) => {
      for (const copy of copies(stage)) {
        for (const source of copy.sources) {
          if (copy.from === undefined) {
            expect(exists(source), `COPY ${source}: not in the repository`).toBe(true);
            expect(dockerIgnored(source), `COPY ${source}: left out by .dockerignore`).toBe(false);
            continue;
          }
          const producer = stageNamed(copy.from);
          if (producer === undefined) throw new Error(`COPY --from=${copy.from}: no such stage`);
          expect(stages.indexOf(producer), `COPY --from=${copy.from}`).toBeLessThan(index);
          const producerWorkdir = withWorkdirs(producer).at(-1)?.workdir ?? "/";
          const produced = runs(producer);
          if (posix.basename(source) === "dist") {
            expect(produced.some((command) => command.includes("npm run build"))).toBe(true);
            expect(source).toBe(posix.join(producerWorkdir, outDir));
          } else if (posix.basename(source) === "node_modules") {
            expect(produced.some((command) => /npm ci\b.*--omit=dev/.test(command))).toBe(true);
            expect(source).toBe(posix.join(producerWorkdir, "node_modules"));
          } else {
            throw new Error(`COPY --from=${copy.from} ${source}: not a known build product`);
          }
        }
      }
    });
  });

  it("ships node without npm", () => {
    if (shipping === undefined) throw new Error("no stage");
    const commands = runs(shipping).join("\n");
    expect(commands).toMatch(/apk add --no-cache nodejs\b/);
    expect(commands).not.toMatch(/\bnpm\b/);
  });

  describe("the health check", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "mqtt-aggregator-healthcheck-"));
      return () => rm(dir, { recursive: true, force: true });
    });

    it("reads the heartbeat where the program writes it by default, outside /data", () => {
      const healthcheck = shipping?.instructions.find((instruction) => instruction.keyword === "HEALTHCHECK");
      expect(healthcheck?.args).toContain(` CMD ${healthCheckCommand()}`);
      expect(healthCheckCommand()).toContain(DEFAULT_HEARTBEAT_PATH);
      expect(DEFAULT_HEARTBEAT_PATH.startsWith("/data/")).toBe(false);
    });

    it("passes on a fresh healthy heartbeat, as the program writes it", async () => {
      const file = join(dir, "healthy");
      await writeFile(file, heartbeatLine(new Date(), undefined));
      expect(runHealthCheck(file)).toBe(0);
    });

    it("fails on an unhealthy heartbeat, a stale one, or none", async () => {
      const unhealthy = join(dir, "unhealthy");
      await writeFile(unhealthy, heartbeatLine(new Date(), "no connection to the MQTT broker for 5 min"));
      expect(runHealthCheck(unhealthy)).not.toBe(0);

      const stale = join(dir, "stale");
      await writeFile(stale, heartbeatLine(new Date(), undefined));
      // Older than the 2 minutes the check allows: the program hangs.
      const past = new Date(Date.now() - 3 * 60_000);
      await utimes(stale, past, past);
      expect(runHealthCheck(stale)).not.toBe(0);

      expect(runHealthCheck(join(dir, "missing"))).not.toBe(0);
    });
  });

  it("labels the image as an add-on", () => {
    if (shipping === undefined) throw new Error("no stage");
    const labelIndex = shipping.instructions.findIndex((instruction) => instruction.keyword === "LABEL");
    const labels = shipping.instructions[labelIndex]?.args ?? "";
    const declared = shipping.instructions
      .slice(0, labelIndex)
      .filter((instruction) => instruction.keyword === "ARG");
    expect(declared.map((instruction) => instruction.args)).toEqual(
      expect.arrayContaining(["BUILD_ARCH", "BUILD_VERSION"]),
    );
    for (const label of [
      'io.hass.type="addon"',
      'io.hass.arch="${BUILD_ARCH}"',
      'io.hass.version="${BUILD_VERSION}"',
      "io.hass.name=",
      "io.hass.description=",
      "org.opencontainers.image.source=",
    ]) {
      expect(labels).toContain(label);
    }
  });
});

describe("build.yaml", () => {
  const build = readYamlRecord("build.yaml");
  const config = readYamlRecord("config.yaml");

  it("builds exactly the architectures config.yaml lists, from the Dockerfile's base image", () => {
    const buildFrom = asRecord(build["build_from"], "build_from");
    expect(Object.keys(buildFrom).sort()).toEqual(["aarch64", "amd64"]);
    expect(Object.keys(buildFrom).sort()).toEqual([...(config["arch"] as string[])].sort());
    for (const image of Object.values(buildFrom)) {
      expect(image).toMatch(RE_DOCKER_IMAGE_BUILD);
      expect(image).toBe(BASE_IMAGE);
    }
  });

  it("sets no key to its default", () => {
    const defaults: Record<string, unknown> = {
      args: {},
      build_from: {},
      codenotary: {},
      labels: {},
      squash: false,
    };
    for (const [key, value] of Object.entries(build)) {
      expect(Object.keys(defaults)).toContain(key);
      expect(isDeepStrictEqual(value, defaults[key]), `${key} is the default`).toBe(false);
    }
  });
});
