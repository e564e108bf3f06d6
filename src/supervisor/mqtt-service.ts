import { setTimeout as delay } from "node:timers/promises";

import { z } from "zod";

/** Where the Supervisor says Mosquitto listens, and the credentials it made for this add-on. */
export interface MqttBroker {
  readonly host: string;
  readonly port: number;
  readonly ssl: boolean;
  readonly username?: string;
  readonly password?: string;
  readonly protocol?: string;
}

/**
 * `not-ready` will likely fix itself (Mosquitto still starting, Supervisor busy); `denied` and
 * `invalid` need a person. Every `detail` is safe to log: it never holds the token or the password.
 */
export type MqttServiceResult =
  | { readonly kind: "found"; readonly broker: MqttBroker }
  | { readonly kind: "not-ready"; readonly detail: string }
  | { readonly kind: "denied"; readonly detail: string }
  | { readonly kind: "invalid"; readonly detail: string };

export interface FetchMqttServiceOptions {
  /** The Supervisor's base URL, `http://supervisor` inside an add-on. */
  readonly url: string;
  readonly token: string;
  readonly fetchImpl?: typeof fetch;
  /** Aborting rejects with the signal's reason instead of reporting `not-ready`. */
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export const SUPERVISOR_TIMEOUT_MS = 10_000;

const serviceDataSchema = z.object({
  host: z.string().min(1),
  port: z.int().min(1).max(65535),
  ssl: z.boolean().default(false),
  protocol: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
});

const serviceAnswerSchema = z.object({ result: z.literal("ok"), data: serviceDataSchema });

const MAX_DETAIL_CHARS = 160;

/** The Supervisor's own words for an error: `message` from its JSON envelope, else the start of the text. */
function supervisorMessage(status: number, body: string): string {
  let text = body;
  try {
    const parsed: unknown = JSON.parse(body);
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      "message" in parsed &&
      typeof parsed.message === "string"
    ) {
      text = parsed.message;
    }
  } catch {
    // Not JSON: aiohttp answers plain text such as "401: Unauthorized".
  }
  // aiohttp's plain-text errors repeat the status ("401: Unauthorized"), which the detail already gives.
  const line = (text.trim().split("\n")[0] ?? "").replace(new RegExp(`^${status}:\\s*`), "");
  if (line === "") return "(no message)";
  return line.length > MAX_DETAIL_CHARS ? `${line.slice(0, MAX_DETAIL_CHARS)}…` : line;
}

function networkProblem(error: unknown, url: string, timeoutMs: number): string {
  if (error instanceof Error && error.name === "TimeoutError") {
    return `the Supervisor at ${url} did not answer within ${timeoutMs / 1000} s`;
  }
  // undici hides the socket error behind a generic "fetch failed"; the cause carries ECONNREFUSED and friends.
  const cause: unknown = error instanceof Error ? error.cause : undefined;
  const code =
    typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
      ? cause.code
      : error instanceof Error
        ? error.message
        : String(error);
  return `could not reach the Supervisor at ${url} (${code})`;
}

function toBroker(data: z.infer<typeof serviceDataSchema>): MqttBroker {
  return {
    host: data.host,
    port: data.port,
    ssl: data.ssl,
    ...(data.username === undefined ? {} : { username: data.username }),
    ...(data.password === undefined ? {} : { password: data.password }),
    ...(data.protocol === undefined ? {} : { protocol: data.protocol }),
  };
}

function classify(status: number, body: string): MqttServiceResult {
  const answered = `Supervisor answered ${status}`;
  if (status === 200) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      // JSON.parse's message quotes the body, and the body may hold the password.
      return { kind: "invalid", detail: `${answered} with a body that is not JSON` };
    }
    const parsed = serviceAnswerSchema.safeParse(json);
    if (parsed.success) return { kind: "found", broker: toBroker(parsed.data.data) };
    // Paths and zod's stock messages only: issue inputs could be the password.
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "body"}: ${issue.message}`,
    );
    return { kind: "invalid", detail: `${answered} with an unexpected body (${problems.join("; ")})` };
  }
  const message = supervisorMessage(status, body);
  // 400 "Service not enabled" is the normal answer while Mosquitto is not installed or not started.
  if (status === 400 || status >= 500) return { kind: "not-ready", detail: `${answered}: ${message}` };
  if (status === 401) {
    return {
      kind: "denied",
      detail: `${answered}: ${message}; the Supervisor did not accept the add-on's token`,
    };
  }
  if (status === 403) {
    return {
      kind: "denied",
      detail: `${answered}: ${message}; the add-on needs "services: [mqtt:need]" in its config.yaml`,
    };
  }
  return { kind: "invalid", detail: `${answered}: ${message}` };
}

function withoutSecret(result: MqttServiceResult, secret: string): MqttServiceResult {
  if (result.kind === "found" || secret === "" || !result.detail.includes(secret)) return result;
  return { kind: result.kind, detail: result.detail.split(secret).join("***") };
}

/** One question to the Supervisor: where is the MQTT broker? Never throws, except when `signal` aborts. */
export async function fetchMqttService(options: FetchMqttServiceOptions): Promise<MqttServiceResult> {
  const { url, token, fetchImpl = fetch, signal, timeoutMs = SUPERVISOR_TIMEOUT_MS } = options;
  const base = url.replace(/\/+$/, "");
  const timeout = AbortSignal.timeout(timeoutMs);
  let status: number;
  let body: string;
  try {
    const response = await fetchImpl(`${base}/services/mqtt`, {
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    });
    status = response.status;
    body = await response.text();
  } catch (error) {
    signal?.throwIfAborted();
    return withoutSecret({ kind: "not-ready", detail: networkProblem(error, base, timeoutMs) }, token);
  }
  return withoutSecret(classify(status, body), token);
}

export interface DiscoveryLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface DiscoverMqttBrokerOptions {
  readonly url: string;
  readonly token: string;
  readonly log: DiscoveryLog;
  /** Must reject (or return early) when `signal` aborts, so shutdown is not held up by a backoff. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly signal?: AbortSignal;
  readonly fetchImpl?: typeof fetch;
}

export const FIRST_RETRY_MS = 1_000;
export const MAX_RETRY_MS = 30_000;

const defaultSleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
  await delay(ms, undefined, signal === undefined ? {} : { signal });
};

function describeBroker(broker: MqttBroker): string {
  const tls = broker.ssl ? " with TLS" : "";
  const user = broker.username === undefined ? "no username" : `user ${broker.username}`;
  return `${broker.host}:${broker.port}${tls} (${user})`;
}

function problemLine(result: Exclude<MqttServiceResult, { kind: "found" }>): {
  level: "warn" | "error";
  text: string;
} {
  switch (result.kind) {
    case "not-ready":
      return { level: "warn", text: `Mosquitto is not running yet (${result.detail}); retrying` };
    case "denied":
      return {
        level: "error",
        text: `The Supervisor refused to say where the MQTT broker is (${result.detail}); retrying every ${MAX_RETRY_MS / 1000} s`,
      };
    case "invalid":
      return {
        level: "error",
        text: `The Supervisor's answer about the MQTT broker is unusable (${result.detail}); retrying every ${MAX_RETRY_MS / 1000} s`,
      };
  }
}

/**
 * Asks the Supervisor until it names a broker. Logs only when the situation changes, so a
 * Mosquitto that takes minutes to start costs one warning, not one per retry.
 */
export async function discoverMqttBroker(options: DiscoverMqttBrokerOptions): Promise<MqttBroker> {
  const { url, token, log, sleep = defaultSleep, signal, fetchImpl } = options;
  let lastKind: MqttServiceResult["kind"] | undefined;
  let retryMs = FIRST_RETRY_MS;
  for (;;) {
    signal?.throwIfAborted();
    const result = await fetchMqttService({
      url,
      token,
      ...(fetchImpl === undefined ? {} : { fetchImpl }),
      ...(signal === undefined ? {} : { signal }),
    });
    if (result.kind === "found") {
      log.info(`MQTT broker found via the Supervisor: ${describeBroker(result.broker)}`);
      return result.broker;
    }
    if (result.kind !== lastKind) {
      const line = problemLine(result);
      log[line.level](line.text);
      lastKind = result.kind;
    }
    // A refused token or a missing permission only changes when someone rebuilds the add-on: no point asking often.
    const waitMs = result.kind === "not-ready" ? retryMs : MAX_RETRY_MS;
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    await sleep(waitMs, signal);
  }
}
