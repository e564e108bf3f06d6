import { readFile } from "node:fs/promises";
import { parseOptions, type OptionsResult } from "./parse-options.js";

/** Reads and validates the options file the Supervisor writes; every failure is a line for the user. */
export async function loadOptionsFile(path: string): Promise<OptionsResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
    const why =
      code === "ENOENT" ? "the file does not exist" : error instanceof Error ? error.message : String(error);
    return { ok: false, problems: [`Cannot read the options file ${path}: ${why}`] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // JSON.parse may quote the text around the error, which can be a password: give the place only.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    const where = position === undefined ? "" : ` (${lineAndColumn(text, Number(position))})`;
    return { ok: false, problems: [`The options file ${path} is not valid JSON${where}`] };
  }
  return parseOptions(json);
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position).split("\n");
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}
