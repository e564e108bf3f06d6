import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { exists, filesUnder, readText, repoPath, trackedFiles } from "./repo.js";

const S6_RC = "rootfs/etc/s6-overlay/s6-rc.d";

/** Files under rootfs/ that start with a shebang. */
const scripts = filesUnder("rootfs").filter((path) => readText(path).startsWith("#!"));

/** The s6-rc services the add-on defines: every folder but the `user` bundle that s6-overlay provides. */
const services = readdirSync(repoPath(S6_RC), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== "user")
  .map((entry) => entry.name);

describe("rootfs scripts", () => {
  it("include the service's run and finish", () => {
    expect(scripts).toEqual(
      expect.arrayContaining([`${S6_RC}/mqtt-aggregator/run`, `${S6_RC}/mqtt-aggregator/finish`]),
    );
  });

  it("tell shellcheck their shell when the shebang does not", () => {
    for (const path of scripts) {
      const text = readText(path);
      const shebang = text.split("\n")[0] ?? "";
      const plainShell = /^#!\s*(?:\/usr\/bin\/env\s+)?\/?(?:usr\/)?(?:bin\/)?(?:ba)?sh\b/.test(shebang);
      if (!plainShell) expect(text, path).toMatch(/^# shellcheck shell=(?:bash|sh)$/m);
      expect(text.includes("\r"), `${path} has CR line endings`).toBe(false);
    }
  });

  it("pass shellcheck", () => {
    let output: string;
    try {
      output = execFileSync("shellcheck", ["--format=gcc", ...scripts.map((path) => repoPath(path))], {
        encoding: "utf8",
      });
    } catch (error) {
      if (isErrno(error, "ENOENT")) {
        // Never skipped: CI (CI=true) and developers alike must have it.
        throw new Error(
          `shellcheck is not installed${process.env["CI"] === "true" ? " on CI" : ""}: apt-get install shellcheck`,
          { cause: error },
        );
      }
      const failed = error as { stdout?: string; stderr?: string };
      output = `${failed.stdout ?? ""}${failed.stderr ?? ""}` || String(error);
    }
    expect(output).toBe("");
  });

  it("are executable in git (or on disk while not yet tracked)", () => {
    const modes = new Map(trackedFiles("rootfs").map((row) => [row.path, row.mode]));
    for (const path of scripts) {
      const tracked = modes.get(path);
      if (tracked !== undefined) expect(tracked, path).toBe("100755");
      else expect(statSync(repoPath(path)).mode & 0o111, `${path} is not executable`).not.toBe(0);
    }
  });
});

describe("the s6-overlay layout", () => {
  it("defines the add-on's service", () => {
    expect(services).toContain("mqtt-aggregator");
  });

  for (const service of services) {
    describe(service, () => {
      const dir = `${S6_RC}/${service}`;

      it("has a type and what that type needs", () => {
        expect(exists(`${dir}/type`)).toBe(true);
        const type = readText(`${dir}/type`).trim();
        expect(["longrun", "oneshot"]).toContain(type);
        if (type === "longrun") expect(exists(`${dir}/run`), `${dir}/run`).toBe(true);
        if (type === "oneshot") expect(exists(`${dir}/up`), `${dir}/up`).toBe(true);
      });

      it("starts after the base bundle, in the user bundle", () => {
        expect(exists(`${dir}/dependencies.d/base`)).toBe(true);
        expect(exists(`${S6_RC}/user/contents.d/${service}`)).toBe(true);
      });
    });
  }

  it("puts nothing in the user bundle that is not a service", () => {
    for (const entry of readdirSync(repoPath(`${S6_RC}/user/contents.d`))) {
      expect(services).toContain(entry);
    }
  });

  it("stops the add-on from the finish script when the program fails", () => {
    const finish = readText(`${S6_RC}/mqtt-aggregator/finish`);
    expect(finish).toContain("/run/s6-linux-init-container-results/exitcode");
    expect(finish).toContain("exec /run/s6/basedir/bin/halt");
    expect(finish).toMatch(/-ne 0 \]\] && \[\[ "\$\{APP_EXIT_CODE\}" -ne 256/);
  });

  it("says what happens on a normal stop, not that the service restarts", () => {
    const finish = readText(`${S6_RC}/mqtt-aggregator/finish`);
    expect(finish).not.toContain("Service restart after closing");
    expect(finish).toContain('bashio::log.info "MQTT Aggregator stopped"');
  });
});

function isErrno(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && "code" in error && error.code === code;
}
