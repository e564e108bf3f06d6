import { readFile } from "node:fs/promises";
import path from "node:path";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileLine {
  readonly function: string;
  readonly where: string;
  readonly selfMs: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly sampledMs: number;
  readonly top: readonly ProfileLine[];
  /** Self time by where the code lives: the add-on (src/), MQTT.js, Node's internals, GC … */
  readonly byArea: readonly ProfileLine[];
}

function shortUrl(url: string): string {
  if (url === "") return "";
  const clean = url.replace(/^file:\/\//, "");
  const modules = clean.lastIndexOf("node_modules/");
  if (modules >= 0) return clean.slice(modules + "node_modules/".length);
  const build = /\/mqtt-aggregator-bench-build-[^/]+\/(.*)$/.exec(clean);
  if (build?.[1] !== undefined) return build[1];
  return clean.startsWith("node:") ? clean : path.basename(clean);
}

function areaOf(url: string, name: string): string {
  if (url === "") return name.startsWith("(") ? name : "(native / V8 builtins)";
  const short = shortUrl(url);
  if (short.startsWith("node:")) return "node internals (streams, net, events)";
  if (short.startsWith("src/")) return "the add-on (src/)";
  if (short.startsWith("bench/")) return "bench counting";
  const pkg = /^(@[^/]+\/[^/]+|[^/]+)\//.exec(short)?.[1];
  return pkg ?? short;
}

/**
 * Self time per function over the samples inside `windows` (µs on the profile's clock), the
 * way a flame graph's "bottom-up" view lists them. Idle time is left out.
 */
export async function summariseProfile(
  file: string,
  windows: readonly (readonly [number, number])[] | undefined,
  topCount = 15,
): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  let at = profile.startTime;
  for (const [index, id] of profile.samples.entries()) {
    at += profile.timeDeltas[index] ?? 0;
    if (windows !== undefined && !windows.some(([from, to]) => at >= from && at <= to)) continue;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index + 1] ?? 0));
  }
  const byFunction = new Map<string, { name: string; where: string; micros: number }>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const [id, micros] of selfMicros) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") continue;
    total += micros;
    const name = functionName === "" ? "(anonymous)" : functionName;
    const where = url === "" ? "" : `${shortUrl(url)}:${lineNumber + 1}`;
    const key = `${name}@${where}`;
    const entry = byFunction.get(key) ?? { name, where, micros: 0 };
    entry.micros += micros;
    byFunction.set(key, entry);
    const area = areaOf(url, name);
    byArea.set(area, (byArea.get(area) ?? 0) + micros);
  }
  const line = (name: string, where: string, micros: number): ProfileLine => ({
    function: name,
    where,
    selfMs: micros / 1000,
    share: total === 0 ? 0 : micros / total,
  });
  return {
    file,
    sampledMs: total / 1000,
    top: [...byFunction.values()]
      .sort((left, right) => right.micros - left.micros)
      .slice(0, topCount)
      .map((entry) => line(entry.name, entry.where, entry.micros)),
    byArea: [...byArea.entries()]
      .sort((left, right) => right[1] - left[1])
      .map(([area, micros]) => line(area, "", micros)),
  };
}
