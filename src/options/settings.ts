import type { ConfiguredRule } from "../core/rule.js";
import type { LogLevel, MqttOptions } from "./schema.js";

/** The validated options in the program's own terms: camelCase, durations in milliseconds, rules compiled. */
export interface Settings {
  readonly logLevel: LogLevel;
  readonly firstReadDelayMs: number;
  readonly readIntervalMs: number;
  readonly discoveryPrefix: string;
  readonly baseTopic: string;
  /** In the order of the options; formula rules among the others. */
  readonly rules: readonly ConfiguredRule[];
  readonly mqtt: BrokerOverride;
}

/** Manual broker settings; `host` set means "use these instead of the Supervisor's". */
export type BrokerOverride = Readonly<MqttOptions>;
