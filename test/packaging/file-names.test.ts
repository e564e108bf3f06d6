import { describe, expect, it } from "vitest";
import { trackedFiles, workingTreeEntries } from "./repo.js";

/**
 * The Supervisor takes every `config.*` below a repository whose suffix is .json, .yaml or .yml
 * as an add-on (supervisor/store/data.py, skipping only folders named rootfs or starting with "."),
 * and reads the first `build.*` and `repository.*` it globs, at any depth
 * (supervisor/utils/common.py find_one_filetype). So the root's three files must be the only ones:
 * a test fixture or a workflow named build.yaml would be picked up instead, or as another add-on.
 * (tsconfig.build.json and vitest.config.ts do not match: the name must start with the word.)
 */
const SUPERVISOR_FILE = /^(?:config|build|repository)\.(?:.*\.)?(?:json|ya?ml)$/;
const ALLOWED = ["build.yaml", "config.yaml", "repository.yaml"];

function supervisorFiles(paths: readonly string[]): string[] {
  return paths.filter((path) => SUPERVISOR_FILE.test(path.split("/").at(-1) ?? "")).sort();
}

describe("files the Supervisor looks for", () => {
  it("are matched by name as the Supervisor's globs do", () => {
    expect(supervisorFiles(["config.yaml", "a/config.test.json", "a/build.yml", "repository.json"])).toEqual([
      "a/build.yml",
      "a/config.test.json",
      "config.yaml",
      "repository.json",
    ]);
    expect(
      supervisorFiles(["tsconfig.build.json", "vitest.config.ts", "src/config.ts", "myconfig.yaml"]),
    ).toEqual([]);
  });

  it("exist only at the root in git", () => {
    const tracked = supervisorFiles(trackedFiles().map((row) => row.path));
    expect(tracked.filter((path) => !ALLOWED.includes(path))).toEqual([]);
  });

  it("exist only at the root, once each, in the working tree", () => {
    expect(supervisorFiles(workingTreeEntries())).toEqual(ALLOWED);
  });
});
