import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** The repository root, which is also the add-on's folder. Tests read nothing outside it. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}

export function readText(path: string): string {
  return readFileSync(repoPath(path), "utf8");
}

export function readYaml(path: string): unknown {
  const data: unknown = parse(readText(path));
  return data;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (!isRecord(value)) throw new Error(`${what} is not a mapping`);
  return value;
}

export function readYamlRecord(path: string): Record<string, unknown> {
  return asRecord(readYaml(path), path);
}

/** `git ls-files -s` rows (mode and path) under `under`, or none when git or the repository is missing. */
export function trackedFiles(under = "."): { mode: string; path: string }[] {
  let output: string;
  try {
    output = execFileSync("git", ["ls-files", "-s", "--", under], { cwd: REPO_ROOT, encoding: "utf8" });
  } catch {
    return [];
  }
  return output
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const [meta = "", path = ""] = line.split("\t");
      return { mode: meta.split(" ")[0] ?? "", path };
    });
}

/** Every file and folder of the working tree, as repository-relative POSIX paths, skipping .git and node_modules. */
export function workingTreeEntries(): string[] {
  const entries: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === ".git" || entry.name === "node_modules") continue;
      const full = join(dir, entry.name);
      entries.push(relative(REPO_ROOT, full).split(sep).join("/"));
      if (entry.isDirectory()) visit(full);
    }
  };
  visit(REPO_ROOT);
  return entries;
}

/** Files below a repository folder, as repository-relative POSIX paths. */
export function filesUnder(folder: string): string[] {
  return workingTreeEntries().filter(
    (path) => path.startsWith(`${folder}/`) && statSync(repoPath(path)).isFile(),
  );
}

export function exists(path: string): boolean {
  return existsSync(repoPath(path));
}
