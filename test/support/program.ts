import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The built program, as the add-on image runs it. */
export const DIST_MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

/** Fails with a message that says what to do, rather than a child that dies of MODULE_NOT_FOUND. */
export function assertBuilt(): void {
  if (!existsSync(DIST_MAIN)) {
    throw new Error(
      `${DIST_MAIN} does not exist: build the program first (npm run build; npm test does it in pretest)`,
    );
  }
}

export interface StartProgramOptions {
  /** Written as options.json; a string is written as is (to test a file that is not JSON). */
  readonly options: object | string;
  /** Defaults to a fresh directory next to options.json. */
  readonly dataDir?: string;
  /** Whether to make the data directory before the start (default); false leaves it to the program. */
  readonly createDataDir?: boolean;
  /** Added to the environment; `undefined` removes a variable. SUPERVISOR_* are removed unless given. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Defaults to `heartbeat` next to options.json, so that no test writes the container's /run. */
  readonly heartbeatFile?: string;
  /** More command-line arguments, such as the hidden timing flags of main.ts. */
  readonly args?: readonly string[];
  /**
   * The status page's `--status-port` (a port, `off`, or something else to see it refused); off
   * unless given, so that programs running side by side do not compete for port 8099.
   */
  readonly statusPort?: number | string;
}

export interface ProgramLine {
  readonly stream: "stdout" | "stderr";
  readonly text: string;
}

export interface ProgramExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** From the signal sent by stop()/kill9() to the exit; from the spawn when it exited by itself. */
  readonly durationMs: number;
}

export interface RunningProgram {
  readonly pid: number | undefined;
  readonly dataDir: string;
  readonly optionsPath: string;
  readonly heartbeatFile: string;
  /** Every line so far, stdout and stderr interleaved in arrival order. */
  readonly lines: readonly ProgramLine[];
  /** All output so far, one line per line, for assertions and failure messages. */
  output(): string;
  /** The first line (from index `from` on) matching `pattern`, waiting up to `timeoutMs` for it. */
  waitForLine(pattern: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  /** Settles when the process has exited (and its output is drained). */
  readonly exited: Promise<ProgramExit>;
  readonly hasExited: boolean;
  /** Sends `signal` and waits for the exit; SIGKILLs after `timeoutMs` (the result then shows SIGKILL). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ProgramExit>;
  kill9(): Promise<ProgramExit>;
}

const running = new Set<RunningProgram>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;
const liveChildren = new Set<ChildProcess>();

function killOnExit(child: ChildProcess): void {
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // An interrupted test run must not leave programs behind holding brokers' connections.
  process.once("exit", () => {
    for (const live of liveChildren) live.kill("SIGKILL");
  });
}

/** The environment of the test run, minus what would point the program at a real Supervisor. */
function childEnv(extra: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  const dropped = new Set(["SUPERVISOR_TOKEN", "SUPERVISOR_URL", "NODE_OPTIONS"]);
  for (const [key, value] of Object.entries(extra)) if (value === undefined) dropped.add(key);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries({ ...process.env, ...extra })) {
    if (!dropped.has(key) || extra[key] !== undefined) env[key] = value;
  }
  return env;
}

export async function startProgram(options: StartProgramOptions): Promise<RunningProgram> {
  assertBuilt();
  const dir = await mkdtemp(path.join(os.tmpdir(), "mqtt-aggregator-program-"));
  tempDirs.add(dir);
  const optionsPath = path.join(dir, "options.json");
  await writeFile(
    optionsPath,
    typeof options.options === "string" ? options.options : JSON.stringify(options.options, null, 2),
  );
  const dataDir = options.dataDir ?? path.join(dir, "data");
  if (options.createDataDir !== false) await mkdir(dataDir, { recursive: true });

  const startedAt = Date.now();
  let signalledAt: number | undefined;
  const heartbeatFile = options.heartbeatFile ?? path.join(dir, "heartbeat");
  const statusPort = String(options.statusPort ?? "off");
  const args = [
    "--options",
    optionsPath,
    "--data-dir",
    dataDir,
    "--heartbeat-file",
    heartbeatFile,
    "--status-port",
    statusPort,
  ];
  const child = spawn(process.execPath, [DIST_MAIN, ...args, ...(options.args ?? [])], {
    env: childEnv(options.env ?? {}),
    stdio: ["ignore", "pipe", "pipe"],
  });
  killOnExit(child);

  const lines: ProgramLine[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  const split = (stream: "stdout" | "stderr") => {
    let partial = "";
    return {
      data: (chunk: string) => {
        const parts = (partial + chunk).split("\n");
        partial = parts.pop() ?? "";
        for (const text of parts) lines.push({ stream, text });
        if (parts.length > 0) notify();
      },
      end: () => {
        if (partial !== "") lines.push({ stream, text: partial });
        partial = "";
        notify();
      },
    };
  };
  const out = split("stdout");
  const err = split("stderr");
  child.stdout.setEncoding("utf8").on("data", out.data).on("end", out.end);
  child.stderr.setEncoding("utf8").on("data", err.data).on("end", err.end);

  let hasExited = false;
  const exited = new Promise<ProgramExit>((resolve) => {
    child.once("error", () => {
      hasExited = true;
      notify();
      resolve({ code: null, signal: null, durationMs: Date.now() - (signalledAt ?? startedAt) });
    });
    // "close", not "exit": by then stdout and stderr are drained, so `lines` is complete.
    child.once("close", (code, signal) => {
      hasExited = true;
      notify();
      resolve({ code, signal, durationMs: Date.now() - (signalledAt ?? startedAt) });
    });
  });

  const output = () =>
    lines.map((line) => (line.stream === "stderr" ? `! ${line.text}` : line.text)).join("\n");

  const waitForLine = (pattern: RegExp, timeoutMs = 5_000, from = 0): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const check = (): boolean => {
        const found = lines.slice(from).find((line) => pattern.test(line.text));
        if (found !== undefined) {
          finish();
          resolve(found.text);
          return true;
        }
        if (hasExited) {
          finish();
          reject(
            new Error(
              `the program exited before printing a line matching ${pattern}; it printed:\n${output()}`,
            ),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(`no line matching ${pattern} within ${timeoutMs} ms; the program printed:\n${output()}`),
        );
      }, timeoutMs);
      const listener = () => void check();
      const finish = () => {
        clearTimeout(timer);
        listeners.delete(listener);
      };
      if (!check()) listeners.add(listener);
    });

  const signalAndWait = async (signal: NodeJS.Signals, timeoutMs: number): Promise<ProgramExit> => {
    if (!hasExited) {
      signalledAt = Date.now();
      child.kill(signal);
    }
    const killer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(killer);
    }
  };

  const program: RunningProgram = {
    pid: child.pid,
    dataDir,
    optionsPath,
    heartbeatFile,
    lines,
    output,
    waitForLine,
    exited,
    get hasExited() {
      return hasExited;
    },
    stop: (signal = "SIGTERM", timeoutMs = 10_000) => signalAndWait(signal, timeoutMs),
    kill9: () => signalAndWait("SIGKILL", 5_000),
  };
  running.add(program);
  void exited.then(() => running.delete(program));
  return program;
}

/** For afterEach/afterAll: kills every program still running and removes their temporary directories. */
export async function stopAllPrograms(): Promise<void> {
  await Promise.all([...running].map((program) => program.kill9()));
  await Promise.all(
    [...tempDirs].map(async (dir) => {
      tempDirs.delete(dir);
      await rm(dir, { recursive: true, force: true });
    }),
  );
}
