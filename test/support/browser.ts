import { existsSync } from "node:fs";
import http from "node:http";
import { chromium, type Browser } from "playwright-core";

/** Debian's chromium package; nothing downloads a browser. `.ci/run` installs it when missing. */
export const CHROMIUM = process.env["CHROMIUM"] ?? "/usr/bin/chromium";

/** Headless Chromium that talks to nothing but the pages it is sent to (here: loopback). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} does not exist: install Debian's chromium package (apt-get install chromium), or set CHROMIUM`,
    );
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // In a container as root the sandbox cannot start; the pages are the add-on's own.
    chromiumSandbox: false,
    timeout: 20_000,
    args: [
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One GET (or other method) to the status page, from `localAddress` if given, with its Host header. */
export function request(
  url: string,
  options: { localAddress?: string; host?: string; method?: string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const sent = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? "GET",
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        headers: { host: options.host ?? target.host },
        timeout: 5_000,
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      },
    );
    sent.on("timeout", () => sent.destroy(new Error(`no answer from ${url} within 5 s`)));
    sent.on("error", reject);
    sent.end();
  });
}
