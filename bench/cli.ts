import { parseArgs } from "node:util";
import type { BrokerChoice } from "./broker.js";
import { FEATURE_MIX, FEATURES } from "./workload.js";

/** Parts of the bench, each of which `--only` can pick. */
export const SECTIONS = ["startup", "path", "read", "memory"] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchSettings {
  readonly messages: number;
  readonly topics: number;
  readonly rules: number;
  readonly rooms: number;
  readonly warmup: number;
  readonly rounds: number;
  /** "auto": backlog on mosquitto, live on aedes (which cannot hold a burst for a paused client). */
  readonly mode: "auto" | "backlog" | "live";
  readonly broker: BrokerChoice;
  readonly readTopics: number;
  readonly readRules: number;
  readonly reads: number;
  readonly memorySources: readonly number[];
  /** "stdout", a file name, or undefined for no JSON. */
  readonly jsonTarget: string | undefined;
  readonly profile: boolean;
  readonly sections: ReadonlySet<Section>;
  /** The share of fitting rules each feature of the featured rule set is applied to. */
  readonly mix: Readonly<Record<string, number>>;
  readonly starts: number;
  /** Seconds of `--soak`, which then runs instead of everything else. */
  readonly soak: number | undefined;
  readonly soakRate: number;
  readonly soakTopics: number;
  readonly soakEvery: number;
}

export const USAGE = `npm run bench -- [options]

  --messages N        messages in the measured burst (default 200000)
  --topics N          distinct topics the burst cycles through (default 1000)
  --rules N           rules in the options (default 300; global wildcard rules, then per room, then per device);
                      the plain set uses what 0.1.0 offered, the featured set adds the features of 0.2.0 (--mix)
  --rooms N           rooms the devices are spread over (default 100)
  --warmup N          messages before the burst, for JIT warm-up and first sight of every topic
                      (default max(20000, 5 x topics))
  --rounds N          rounds of the burst, fresh processes each; figures are medians (default 5)
  --mode M            backlog (default with mosquitto): each subscriber drains the burst alone with a core
                      to itself; live (default with aedes, which throttles the publisher and drops QoS 0
                      messages for a paused client): one subscriber at a time takes the burst while it is
                      being published
  --broker B          auto (default: mosquitto when installed, else aedes), mosquitto or aedes
  --read-topics N     readings held for the read-time cost (default 100000)
  --read-rules N      rules for the read-time cost (default 1000)
  --reads N           steady-state reads timed after the first (default 5)
  --memory LIST       tracked-source counts for the memory figures (default 10000,100000)
  --starts N          start-ups of each program for the start-up cost (default 5)
  --only LIST         run only these parts: ${SECTIONS.join(", ")} (default all)
  --mix LIST          feature=share of the featured rules, e.g. change=0.5,ranges=0 (default
                      ${Object.entries(FEATURE_MIX)
                        .map(([name, share]) => `${name}=${share}`)
                        .join(",")}); features: ${Object.keys(FEATURES).join(", ")}
  --soak SECONDS      instead of the above: the add-on's own wiring under a steady mixed load for SECONDS,
                      its live heap and RSS every few seconds, and their trend once the set of topics is stable
  --soak-rate N       messages per second of the soak (default 2000)
  --soak-topics N     sensors publishing at a time in the soak, out of a quarter more that take turns (default 5000)
  --soak-every N      seconds between the soak's samples (default 5)
  --json [FILE]       also write every figure as JSON, to FILE or to stdout (the table then goes to stderr;
                      \`npm run -s bench -- --json\` keeps npm's own banner off stdout)
  --profile           one extra round with node --cpu-prof on both subscribers; prints their top functions
                      (profiles kept in bench/.profiles/)
  --help
`;

function count(text: string | undefined, fallback: number, name: string, min = 1): number {
  if (text === undefined) return fallback;
  const value = Number(text.replace(/[_,]/g, ""));
  if (!Number.isInteger(value) || value < min)
    throw new Error(`--${name} needs a whole number >= ${min}, not "${text}"`);
  return value;
}

export function parseCli(argv: readonly string[]): { help: boolean; settings: BenchSettings } {
  // `--json` takes an optional file name, which parseArgs cannot express.
  const rest: string[] = [];
  let jsonTarget: string | undefined;
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? "";
    if (arg === "--json") {
      const next = argv[index + 1];
      if (next !== undefined && !next.startsWith("--")) {
        jsonTarget = next;
        index += 1;
      } else {
        jsonTarget = "stdout";
      }
    } else if (arg.startsWith("--json=")) {
      jsonTarget = arg.slice("--json=".length) || "stdout";
    } else {
      rest.push(arg);
    }
  }
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      messages: { type: "string" },
      topics: { type: "string" },
      rules: { type: "string" },
      rooms: { type: "string" },
      warmup: { type: "string" },
      rounds: { type: "string" },
      mode: { type: "string" },
      broker: { type: "string" },
      "read-topics": { type: "string" },
      "read-rules": { type: "string" },
      reads: { type: "string" },
      memory: { type: "string" },
      starts: { type: "string" },
      only: { type: "string" },
      mix: { type: "string" },
      soak: { type: "string" },
      "soak-rate": { type: "string" },
      "soak-topics": { type: "string" },
      "soak-every": { type: "string" },
      profile: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  const topics = count(values.topics, 1_000, "topics");
  const mode = values.mode ?? "auto";
  if (mode !== "auto" && mode !== "backlog" && mode !== "live")
    throw new Error(`--mode is backlog or live, not "${mode}"`);
  const broker = values.broker ?? "auto";
  if (broker !== "auto" && broker !== "mosquitto" && broker !== "aedes")
    throw new Error(`--broker is auto, mosquitto or aedes, not "${broker}"`);
  const memory = (values.memory ?? "10000,100000")
    .split(",")
    .filter((piece) => piece.trim() !== "")
    .map((piece) => count(piece.trim(), 0, "memory"));
  const sections = new Set<Section>();
  for (const piece of (values.only ?? SECTIONS.join(",")).split(",")) {
    const name = piece.trim();
    if (name === "") continue;
    if (!(SECTIONS as readonly string[]).includes(name))
      throw new Error(`--only takes ${SECTIONS.join(", ")}, not "${name}"`);
    sections.add(name as Section);
  }
  const mix: Record<string, number> = { ...FEATURE_MIX };
  for (const piece of (values.mix ?? "").split(",")) {
    if (piece.trim() === "") continue;
    const [name = "", share = ""] = piece.split("=").map((part) => part.trim());
    const value = Number(share);
    if (FEATURES[name] === undefined)
      throw new Error(`--mix: no feature "${name}" (${Object.keys(FEATURES).join(", ")})`);
    if (share === "" || !Number.isFinite(value) || value < 0 || value > 1)
      throw new Error(`--mix ${name}= takes a share from 0 to 1, not "${share}"`);
    mix[name] = value;
  }
  return {
    help: values.help === true,
    settings: {
      messages: count(values.messages, 200_000, "messages"),
      topics,
      rules: count(values.rules, 300, "rules"),
      rooms: count(values.rooms, 100, "rooms"),
      warmup: count(values.warmup, Math.max(20_000, 5 * topics), "warmup"),
      rounds: count(values.rounds, 5, "rounds"),
      mode,
      broker,
      readTopics: count(values["read-topics"], 100_000, "read-topics"),
      readRules: count(values["read-rules"], 1_000, "read-rules"),
      reads: count(values.reads, 5, "reads"),
      memorySources: memory,
      jsonTarget,
      profile: values.profile === true,
      sections,
      mix,
      starts: count(values.starts, 5, "starts"),
      soak: values.soak === undefined ? undefined : count(values.soak, 0, "soak", 10),
      soakRate: count(values["soak-rate"], 2_000, "soak-rate"),
      soakTopics: count(values["soak-topics"], 5_000, "soak-topics", 100),
      soakEvery: count(values["soak-every"], 5, "soak-every"),
    },
  };
}
