import http from "node:http";

export interface FakeAnswer {
  readonly status: number;
  /** A string is sent as is (text/plain); anything else as JSON. */
  readonly body?: unknown;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
}

/** May return a promise that never settles, to play a Supervisor that hangs; close() still ends it. */
export type FakeResponder = (request: RecordedRequest) => FakeAnswer | Promise<FakeAnswer>;

export interface FakeSupervisorOptions {
  /** Answers in order; the last one repeats once the queue is down to it. Or a function of the request. */
  readonly answers?: readonly FakeAnswer[] | FakeResponder;
  /** When set, requests without `Authorization: Bearer <token>` get 401, as from the real Supervisor. */
  readonly token?: string;
}

export interface FakeSupervisor {
  readonly url: string;
  readonly requests: readonly RecordedRequest[];
  /** Replaces the script for the requests still to come. */
  script(answers: readonly FakeAnswer[] | FakeResponder): void;
  close(): Promise<void>;
}

export const mqttServiceAnswer = (data: Record<string, unknown>): FakeAnswer => ({
  status: 200,
  body: { result: "ok", data },
});

export const supervisorError = (status: number, message: string): FakeAnswer => ({
  status,
  body: { result: "error", message },
});

const NO_SCRIPT: FakeAnswer = {
  status: 500,
  body: { result: "error", message: "fake Supervisor has no answer scripted" },
};

export async function startFakeSupervisor(options: FakeSupervisorOptions = {}): Promise<FakeSupervisor> {
  const requests: RecordedRequest[] = [];
  let answers: readonly FakeAnswer[] | FakeResponder = options.answers ?? [];
  let queue = typeof answers === "function" ? [] : [...answers];

  const nextAnswer = (request: RecordedRequest): FakeAnswer | Promise<FakeAnswer> => {
    if (options.token !== undefined && request.authorization !== `Bearer ${options.token}`) {
      return { status: 401, body: "401: Unauthorized" };
    }
    if (request.method !== "GET" || request.path !== "/services/mqtt") {
      return supervisorError(404, "fake Supervisor only knows GET /services/mqtt");
    }
    if (typeof answers === "function") return answers(request);
    return (queue.length > 1 ? queue.shift() : queue[0]) ?? NO_SCRIPT;
  };

  const server = http.createServer((req, res) => {
    const request: RecordedRequest = {
      method: req.method ?? "",
      path: req.url ?? "",
      authorization: req.headers.authorization,
    };
    requests.push(request);
    void Promise.resolve(nextAnswer(request)).then(({ status, body }) => {
      const text = typeof body === "string" ? body : JSON.stringify(body ?? null);
      res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain" : "application/json" });
      res.end(text);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fake Supervisor has no TCP address");

  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    script: (next) => {
      answers = next;
      queue = typeof next === "function" ? [] : [...next];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        // fetch keeps connections alive, and a hanging responder holds its request open: neither may delay close.
        server.closeAllConnections();
      }),
  };
}
