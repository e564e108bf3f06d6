import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokerKinds, startMosquitto, type TestBroker } from "../support/brokers.js";
import { startProgram, stopAllPrograms } from "../support/program.js";

/**
 * TLS when the options say so, with the certificate checked: a broker whose certificate the
 * system does not trust is refused, the same broker trusted (NODE_EXTRA_CA_CERTS) is used.
 */
describe.runIf(brokerKinds().includes("mosquitto"))("TLS to the broker", () => {
  const dir = mkdtempSync(join(tmpdir(), "mqtt-aggregator-tls-"));
  const ca = join(dir, "ca.pem");
  let broker: TestBroker;

  beforeAll(async () => {
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=Test CA",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    );
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=127.0.0.1",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
    );
    writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
    openssl(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      "san.ext",
      "-out",
      "server.pem",
    );
    broker = await startMosquitto({
      username: "addons",
      password: "tls-pw",
      tls: { certFile: join(dir, "server.pem"), keyFile: join(dir, "server.key") },
    });
  });

  afterAll(async () => {
    await stopAllPrograms();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const options = () => ({
    rules: [{ name: "T", topic: "t/+", function: "mean" }],
    mqtt: { host: "127.0.0.1", port: broker.port, username: "addons", password: "tls-pw", tls: true },
  });

  it("refuses a broker whose certificate is not trusted", async () => {
    const program = await startProgram({ options: options() });
    await program.waitForLine(
      /Cannot reach the MQTT broker at mqtts:\/\/127\.0\.0\.1:\d+ as addons: .*(certificate|self.signed)/i,
    );
    expect(program.output()).not.toMatch(/Connected to the MQTT broker/);
    expect((await program.stop()).code).toBe(0);
  });

  it("connects over TLS when the certificate is trusted", async () => {
    const program = await startProgram({ options: options(), env: { NODE_EXTRA_CA_CERTS: ca } });
    await program.waitForLine(/Connected to the MQTT broker at mqtts:\/\/127\.0\.0\.1/);
    expect((await program.stop()).code).toBe(0);
  });
});
