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
    return {
      ok: false,
      problems: [`The options file ${path} is not valid JSON: ${(error as Error).message}`],
    };
  }
  return parseOptions(json);
}
