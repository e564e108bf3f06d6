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
  problems.unshift(...baseTopicProblems(options.base_topic, options.discovery_prefix));
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

/** The first level of Home Assistant's own status topic (`homeassistant/status`, its birth and will). */
const HOME_ASSISTANT_LEVEL = "homeassistant";

/**
 * The add-on's `<base_topic>/status` must not land on Home Assistant's status topic, which is
 * `<discovery_prefix>/status` as the add-on listens to it and `homeassistant/status` by default.
 * Both options are single topic levels, so one is a prefix of the other in MQTT's sense (`a` of
 * `a/b`, level by level) only when they are equal; `home` and `homeassistant` share no topic.
 */
function baseTopicProblems(baseTopic: string, discoveryPrefix: string): string[] {
  const clash = `the add-on's online/offline on ${baseTopic}/status would be taken for Home Assistant's own status`;
  if (baseTopic === discoveryPrefix)
    return [`base_topic: must differ from discovery_prefix ("${discoveryPrefix}"): ${clash}`];
  if (baseTopic === HOME_ASSISTANT_LEVEL)
    return [`base_topic: must not be ${HOME_ASSISTANT_LEVEL}: ${clash}`];
  return [];
}
