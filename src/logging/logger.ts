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
  const text = escapeForLog(`${typeof msg === "string" ? msg : ""}${extra === "" ? "" : ` ${extra}`}`);
  return `[${when}] ${label}: ${text}${stack}`;
}

/** The longest message the Log tab gets: a 65 KB topic in a warning is a wall, not information. */
export const MAX_LOG_MESSAGE = 2_000;

/**
 * Messages quote topics and payloads, which are anyone's bytes: a newline would forge a line of
 * its own with a time and a level, and NUL or ANSI escape codes would reach the Log tab. Every
 * control character is written as an escape instead, and an overlong message is cut.
 */
export function escapeForLog(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (char) => {
    switch (char) {
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      case "\t":
        return "\\t";
      default:
        return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
    }
  });
  if (escaped.length <= MAX_LOG_MESSAGE) return escaped;
  return `${escaped.slice(0, MAX_LOG_MESSAGE)}… (${escaped.length - MAX_LOG_MESSAGE} more characters)`;
}

function formatTime(epochMs: number): string {
  const date = new Date(epochMs);
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
