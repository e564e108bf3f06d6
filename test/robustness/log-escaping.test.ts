import { afterEach, describe, expect, it } from "vitest";
import { connectClient, startAedes, type TestBroker } from "../support/brokers.js";
import { startProgram, stopAllPrograms } from "../support/program.js";

/**
 * Topics and payloads are anyone's bytes, and the log quotes them: a newline must not forge a line
 * with its own time and level, and NUL or ANSI escape codes must not reach the Log tab.
 */
const LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] (TRACE|DEBUG|INFO|WARNING|ERROR|FATAL): /;

let broker: TestBroker | undefined;
afterEach(async () => {
  await stopAllPrograms();
  await broker?.stop();
});

describe("the log", () => {
  it("escapes control characters from topics and payloads, so no line can be forged", async () => {
    broker = await startAedes();
    const program = await startProgram({
      options: {
        first_read_delay: 1,
        read_interval: 1,
        rules: [{ name: "Mean", topic: "evil/+", function: "mean" }],
        mqtt: { host: broker.host, port: broker.port },
      },
    });
    await program.waitForLine(/Listening to \d+ topic filters/);
    const client = await connectClient(broker);
    const forged = "[2026-12-01 00:00:00] ERROR: forged";
    await client.publishAsync("evil/\u001b[2Jclear", `hot\n${forged}\u0000\u001b[31m`, { qos: 1 });
    await client.publishAsync("evil/plain", "21", { qos: 1 });
    const warning = await program.waitForLine(/WARNING: "Mean" ignores evil\//, 10_000);
    await client.endAsync();

    expect(warning).toContain("evil/\\u001b[2Jclear");
    expect(warning).toContain("hot\\n[2026-12-01");
    for (const line of program.lines) {
      expect(line.text, program.output()).toMatch(LINE);
      // eslint-disable-next-line no-control-regex -- no control character may reach the Log tab
      expect(line.text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
      expect(line.text.startsWith(forged)).toBe(false);
    }
  });

  it("warns once per source, at most ten lines per read with a count of the rest", async () => {
    broker = await startAedes();
    const program = await startProgram({
      options: {
        first_read_delay: 2,
        read_interval: 1,
        rules: [{ name: "Temperatures", topic: "flood/+", value_path: "*.Temperature", function: "mean" }],
        mqtt: { host: broker.host, port: broker.port },
      },
    });
    await program.waitForLine(/Listening to \d+ topic filters/);
    const client = await connectClient(broker);
    const bad = JSON.stringify(
      Object.fromEntries(Array.from({ length: 2_000 }, (_, index) => [`k${index}`, { Temperature: "n/a" }])),
    );
    for (let topic = 0; topic < 20; topic += 1) await client.publishAsync(`flood/${topic}`, bad, { qos: 1 });
    await program.waitForLine(/WARNING: 10 more sources turned unusable at this read/, 10_000);
    // Two more reads of the same payloads: nothing new to say.
    const after = program.lines.length;
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await client.endAsync();
    const warnings = program.lines.filter((line) => line.text.includes("WARNING"));
    expect(warnings, program.output()).toHaveLength(11);
    expect(program.lines.slice(after).filter((line) => line.text.includes("WARNING"))).toEqual([]);
  });
});
