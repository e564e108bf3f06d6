import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAllowedHost, isAllowedPeer } from "../../src/status-page/allowed-peers.js";
import { startAedes, type TestBroker } from "../support/brokers.js";
import { request } from "../support/browser.js";
import { startProgram, stopAllPrograms, type RunningProgram } from "../support/program.js";

describe("who the status page answers", () => {
  it("is the Supervisor's ingress proxy and this machine's own loopback address", () => {
    for (const address of ["172.30.32.2", "::ffff:172.30.32.2", "127.0.0.1", "::1", "::ffff:127.0.0.1"])
      expect(isAllowedPeer(address), address).toBe(true);
    for (const address of [
      undefined,
      "",
      "172.30.32.1", // the Docker gateway of the add-ons' network: the host, not the Supervisor
      "172.30.33.5", // another add-on
      "172.30.32.20",
      "192.168.1.10",
      "127.0.0.2",
      "::ffff:192.168.1.10",
      "fe80::1",
      "0.0.0.0",
    ])
      expect(isAllowedPeer(address), String(address)).toBe(false);
  });

  it("asks a request from this machine to name this machine, so that DNS rebinding cannot read it", () => {
    for (const host of ["127.0.0.1:8099", "localhost:8099", "localhost", "LOCALHOST:1", "[::1]:8099"])
      expect(isAllowedHost("127.0.0.1", host), host).toBe(true);
    for (const host of [undefined, "evil.example", "evil.example:8099", "127.0.0.1.evil.example", "[::1"])
      expect(isAllowedHost("127.0.0.1", host), String(host)).toBe(false);
    // The Supervisor names the add-on however it likes.
    expect(isAllowedHost("172.30.32.2", "a0d7b954-mqtt-aggregator:8099")).toBe(true);
  });
});

/** A local IPv4 address that is not loopback, when the machine has one (a container's eth0). */
function otherLocalAddress(): string | undefined {
  for (const addresses of Object.values(os.networkInterfaces()))
    for (const address of addresses ?? [])
      if (address.family === "IPv4" && !address.internal) return address.address;
  return undefined;
}

const SUPERVISOR_TOKEN = "supervisor-token-Jd84KsP2qW";
const PASSWORD = "broker-pw-Lm39TcQ7xZ";

describe("the status page as the add-on runs it in Home Assistant", () => {
  let broker: TestBroker;
  let program: RunningProgram;
  let port: number;

  beforeAll(async () => {
    broker = await startAedes({ username: "aggregator", password: PASSWORD });
    // With SUPERVISOR_TOKEN set the program listens on every interface, as in the add-on's
    // container; mqtt.host keeps it from asking a Supervisor for the broker.
    program = await startProgram({
      options: {
        rules: [{ name: "Temperature", topic: "t/+", function: "mean" }],
        mqtt: { host: broker.host, port: broker.port, username: "aggregator", password: PASSWORD },
      },
      env: { SUPERVISOR_TOKEN },
      statusPort: 0,
    });
    const line = await program.waitForLine(
      /Status page listening on port \d+ for Home Assistant's ingress/,
      10_000,
    );
    port = Number(/port (\d+)/.exec(line)?.[1]);
  }, 30_000);

  afterAll(async () => {
    await stopAllPrograms();
    await broker.stop();
  });

  it("answers loopback", async () => {
    const answer = await request(`http://127.0.0.1:${port}/api/snapshot`);
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('"rules":[{"key":"temperature"');
    expect(answer.body).not.toContain(SUPERVISOR_TOKEN);
    expect(answer.body).not.toContain(PASSWORD);
  });

  it("refuses another address of this machine, and a loopback request naming another host", async () => {
    // 127.0.0.2 is on every Linux machine's loopback interface, but it is not 127.0.0.1: the same
    // check that refuses it refuses a LAN address.
    const fromOtherLoopback = await request(`http://127.0.0.1:${port}/api/snapshot`, {
      localAddress: "127.0.0.2",
    });
    expect(fromOtherLoopback.status).toBe(403);
    expect(fromOtherLoopback.body).not.toContain("rules");
    const rebound = await request(`http://127.0.0.1:${port}/`, { host: `evil.example:${port}` });
    expect(rebound.status).toBe(403);
  });

  it("refuses a request from a non-loopback interface of this machine, where it has one", async () => {
    const address = otherLocalAddress();
    // Without another interface, the 127.0.0.2 case above is the machine's only other address.
    const target = address ?? "127.0.0.2";
    const answer = await request(`http://${target}:${port}/`, { localAddress: target });
    expect(answer.status).toBe(403);
    expect(answer.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(program.output()).not.toContain(SUPERVISOR_TOKEN);
  });
});

describe("--status-port", () => {
  it("refuses what is not a port or off, before anything starts", async () => {
    const program = await startProgram({ options: { rules: [] }, statusPort: "eighty" });
    const exit = await program.exited;
    expect(exit.code).toBe(1);
    expect(program.output()).toContain(
      '--status-port must be a port number (0 for any free one) or off, not "eighty"',
    );
  });
});
