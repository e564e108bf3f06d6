import { pino, type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "../options/schema.js";

export type { Logger };

/** Where log lines go: process.stdout in the add-on, an array in tests. */
export interface LogOutput {
  write(text: string): unknown;
  /** A stream reports a reader gone away (EPIPE) as an "error" event, fatal when nobody listens. */
  on?(event: "error", listener: (error: Error) => void): unknown;
}

/** Home Assistant says "warning" where pino says "warn". */
const PINO_LEVEL: Record<LogLevel, pino.Level> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warning: "warn",
  error: "error",
};

const LABEL: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARNING",
  50: "ERROR",
  60: "FATAL",
};

/** Keys that may hold secrets, censored wherever they appear in a log line's fields. */
const SECRET_PATHS = [
  "password",
  "token",
  "*.password",
  "*.token",
  "*.*.password",
  "authorization",
  "*.authorization",
];

/**
 * The add-on's Log tab shows raw stdout, so lines are plain text (`[time] LEVEL: message`)
 * rather than pino's JSON; extra fields follow as `key=value`.
 */
export function createLogger(level: LogLevel, output: LogOutput = process.stdout): Logger {
  return pino(
    {
      level: PINO_LEVEL[level],
      base: null,
      redact: { paths: SECRET_PATHS, censor: "[redacted]" },
    },
    plainLines(output),
  );
}

export function setLogLevel(logger: Logger, level: LogLevel): void {
  logger.level = PINO_LEVEL[level];
}

/** Logging never ends the add-on: once the output is gone (a closed stdout), lines are dropped. */
function plainLines(output: LogOutput): DestinationStream {
  let gone = false;
  output.on?.("error", () => {
    gone = true;
  });
  return {
    write(line: string): void {
      if (gone) return;
      const text = `${formatLine(line)}\n`;
      try {
        output.write(text);
      } catch {
        gone = true;
      }
    },
  };
}

export function formatLine(json: string): string {
  const record = JSON.parse(json) as Record<string, unknown>;
  const { level, time, msg, err, ...fields } = record;
  const label = LABEL[typeof level === "number" ? level : 30] ?? "INFO";
  const when = formatTime(typeof time === "number" ? time : Date.now());
  const extra = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
  // Bugs keep their stack; errors a user can cause are logged as messages and have none.
  const stack = typeof err === "object" && err !== null && "stack" in err ? `\n${String(err.stack)}` : "";
  return `[${when}] ${label}: ${typeof msg === "string" ? msg : ""}${extra === "" ? "" : ` ${extra}`}${stack}`;
}

function formatTime(epochMs: number): string {
  const date = new Date(epochMs);
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
