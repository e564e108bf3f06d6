import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ts from "typescript";

export const PROJECT_DIR = path.resolve(import.meta.dirname, "..");

const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  verbatimModuleSyntax: true,
  // As dist/ has them: the add-on runs with --enable-source-maps, which loads them.
  sourceMap: true,
};

export interface ChildBuild {
  /** A temp dir mirroring the project: `src/…` and `bench/…` as JavaScript, `node_modules` linked. */
  readonly dir: string;
  readonly files: number;
  readonly ms: number;
  /** The compiled path of a bench child, e.g. `children/publisher`. */
  script(name: string): string;
  /** The add-on's own program (src/main.ts), compiled like the rest. */
  readonly main: string;
  remove(): Promise<void>;
}

async function sourcesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/**
 * The children run as plain `node` on JavaScript, the way the add-on runs in its container:
 * a TypeScript loader (tsx) would add its own ~25 MB to every child's RSS and hide the
 * difference being measured. Type-stripping only (`npm run typecheck` checks the types), into
 * a temp dir so that nothing generated lands in the project for eslint or prettier to find.
 */
export async function buildChildren(): Promise<ChildBuild> {
  const started = performance.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), "mqtt-aggregator-bench-build-"));
  const remove = () => rm(dir, { recursive: true, force: true });
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  try {
    // The program reads its version from here, as from the add-on's package.json.
    const { version } = JSON.parse(await readFile(path.join(PROJECT_DIR, "package.json"), "utf8")) as {
      version: string;
    };
    await writeFile(
      path.join(dir, "package.json"),
      `${JSON.stringify({ type: "module", private: true, version })}\n`,
    );
    await symlink(path.join(PROJECT_DIR, "node_modules"), path.join(dir, "node_modules"), "dir");
    const files = [
      ...(await sourcesUnder(path.join(PROJECT_DIR, "src"))),
      ...(await sourcesUnder(path.join(PROJECT_DIR, "bench"))),
    ];
    for (const file of files) {
      const source = await readFile(file, "utf8");
      const output = ts.transpileModule(source, {
        compilerOptions: COMPILER_OPTIONS,
        fileName: file,
        reportDiagnostics: true,
      });
      const problems = output.diagnostics ?? [];
      if (problems.length > 0) {
        const text = problems.map((problem) => ts.flattenDiagnosticMessageText(problem.messageText, "\n"));
        throw new Error(`cannot compile ${path.relative(PROJECT_DIR, file)}: ${text.join("; ")}`);
      }
      const target = path.join(dir, path.relative(PROJECT_DIR, file)).replace(/\.ts$/, ".js");
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, output.outputText);
      if (output.sourceMapText !== undefined) await writeFile(`${target}.map`, output.sourceMapText);
    }
    return {
      dir,
      files: files.length,
      ms: performance.now() - started,
      script: (name) => path.join(dir, "bench", `${name}.js`),
      main: path.join(dir, "src", "main.js"),
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}
