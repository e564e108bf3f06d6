import { compileRules } from "./compile-rules.js";
import { formatIssues } from "./format-problems.js";
import { optionsSchema } from "./schema.js";
import type { Settings } from "./settings.js";

export type OptionsResult =
  { readonly ok: true; readonly settings: Settings } | { readonly ok: false; readonly problems: string[] };

/** Validates options as parsed from JSON; on failure, one line per problem and nothing else. */
export function parseOptions(input: unknown): OptionsResult {
  const parsed = optionsSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) return { ok: false, problems: formatIssues(parsed.error.issues) };
  const options = parsed.data;
  const { rules, problems } = compileRules(options);
  if (problems.length > 0) return { ok: false, problems };
  const settings: Settings = {
    logLevel: options.log_level,
    firstReadDelayMs: options.first_read_delay * 1000,
    readIntervalMs: options.read_interval * 1000,
    discoveryPrefix: options.discovery_prefix,
    baseTopic: options.base_topic,
    rules,
    mqtt: options.mqtt,
  };
  return { ok: true, settings: Object.freeze(settings) };
}
