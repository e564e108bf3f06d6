import { readFile } from "node:fs/promises";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TrialInput } from "../core/rule-trial.js";
import { isAllowedHost, isAllowedPeer } from "./allowed-peers.js";
import type { Inspection, PayloadView, Snapshot, TrialView, Update } from "./wire.js";

/** What the server answers with; everything it shows comes from here. */
export interface StatusBackend {
  snapshot(): Snapshot;
  /** Undefined when `after` is too long ago: the page reloads the snapshot. */
  changesSince(after: number): Update | undefined;
  inspect(entityKey: string): Inspection;
  payload(topic: string): PayloadView;
  trial(input: TrialInput): TrialView;
  /** Takes over the response for server-sent events. */
  openStream(response: ServerResponse): void;
}

export interface ListenAddress {
  readonly host: string;
  /** 0 for any free port. */
  readonly port: number;
}

/**
 * The page's own files and nothing else: no inline script or style anywhere, so that the policy
 * can forbid them, and a payload that slipped into the page as markup could not run.
 */
const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cache-Control": "no-store",
} as const;

const PAGE_FILES = [
  { path: "/", file: "index.html", type: "text/html; charset=utf-8" },
  { path: "/status.js", file: "status.js", type: "text/javascript; charset=utf-8" },
  { path: "/status.css", file: "status.css", type: "text/css; charset=utf-8" },
] as const;

/** Longest query values taken: a filter, a path and a unit are short; a topic may be long. */
const MAX_QUERY_CHARS = 8_192;

interface PageFile {
  readonly body: Buffer;
  readonly type: string;
}

export interface StatusServer {
  /** Where it listens: the port is the real one when 0 was asked for. */
  readonly address: ListenAddress;
  close(): Promise<void>;
}

/** The page's files: next to this module (dist/status-page/page/ once built, src/… under tsx). */
export async function loadPageFiles(
  folder = new URL("./page/", import.meta.url),
): Promise<Map<string, PageFile>> {
  const files = new Map<string, PageFile>();
  for (const { path, file, type } of PAGE_FILES)
    files.set(path, { body: await readFile(new URL(file, folder)), type });
  return files;
}

export async function startStatusServer(
  listen: ListenAddress,
  backend: StatusBackend,
  files: ReadonlyMap<string, PageFile>,
  log: { debug(message: string): void },
): Promise<StatusServer> {
  const server = http.createServer((request, response) => {
    try {
      handle(request, response, backend, files, log);
    } catch (error) {
      // A bug in one answer must not stop the add-on; it is a bug all the same, so it is said.
      log.debug(`Status page: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (!response.headersSent) answer(response, 500, "text/plain; charset=utf-8", "Internal error\n");
      else response.destroy();
    }
  });
  // Requests are small and answered at once; a client that sends nothing is not waited for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: { host: listen.host, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open event streams would keep it from closing.
        server.closeAllConnections();
      }),
  };
}

function handle(
  request: IncomingMessage,
  response: ServerResponse,
  backend: StatusBackend,
  files: ReadonlyMap<string, PageFile>,
  log: { debug(message: string): void },
): void {
  const peer = request.socket.remoteAddress;
  if (!isAllowedPeer(peer) || !isAllowedHost(peer, request.headers.host)) {
    log.debug(`Status page: refused a request from ${peer ?? "an unknown address"}`);
    answer(
      response,
      403,
      "text/plain; charset=utf-8",
      "Forbidden: this page answers Home Assistant's ingress only\n",
    );
    return;
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    // Nothing on the page changes anything.
    response.setHeader("Allow", "GET, HEAD");
    answer(response, 405, "text/plain; charset=utf-8", "Only GET\n");
    return;
  }
  const url = new URL(request.url ?? "/", "http://status.invalid");
  if (url.pathname === "/favicon.ico") {
    // The page has no icon of its own; Home Assistant's sidebar shows panel_icon.
    answer(response, 204, "text/plain; charset=utf-8", "");
    return;
  }
  const file = files.get(url.pathname);
  if (file !== undefined) {
    answer(response, 200, file.type, file.body);
    return;
  }
  if (url.pathname === "/api/events" && request.method === "GET") {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    backend.openStream(response);
    return;
  }
  const reply = apiReply(url, backend);
  if (reply === undefined) answer(response, 404, "text/plain; charset=utf-8", "Not found\n");
  else answer(response, reply.status, "application/json; charset=utf-8", JSON.stringify(reply.data));
}

function apiReply(url: URL, backend: StatusBackend): { status: number; data: unknown } | undefined {
  const query = (name: string): string | undefined => {
    const value = url.searchParams.get(name) ?? undefined;
    return value === undefined || value.length > MAX_QUERY_CHARS ? undefined : value;
  };
  const ok = (data: unknown) => ({ status: 200, data });
  const missing = (name: string) => ({ status: 400, data: { error: `${name} is missing or too long` } });
  switch (url.pathname) {
    case "/api/snapshot":
      return ok(backend.snapshot());
    case "/api/updates": {
      const after = Number(query("after"));
      if (!Number.isSafeInteger(after)) return missing("after");
      return ok(backend.changesSince(after) ?? { reload: true });
    }
    case "/api/entity": {
      const key = query("key");
      return key === undefined ? missing("key") : ok(backend.inspect(key));
    }
    case "/api/payload": {
      const topic = query("topic");
      return topic === undefined ? missing("topic") : ok(backend.payload(topic));
    }
    case "/api/tester": {
      const topic = query("topic");
      if (topic === undefined) return missing("topic");
      return ok(backend.trial({ topic, valuePath: query("value_path") ?? "", unit: query("unit") ?? "" }));
    }
    default:
      return undefined;
  }
}

function answer(response: ServerResponse, status: number, type: string, body: string | Buffer): void {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  response.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": type, "Content-Length": bytes.length });
  // Node sends no body in answer to HEAD.
  response.end(bytes);
}
