import { discoverMqttBroker, fetchMqttService, type MqttBroker } from "../supervisor/mqtt-service.js";
import { describeAddress, type AddressSource, type BrokerAddress } from "../mqtt/broker-connection.js";
import type { BrokerOverride } from "../options/settings.js";
import type { Logger } from "../logging/logger.js";

export interface SupervisorAccess {
  readonly url: string;
  readonly token: string | undefined;
}

export interface ResolvedBroker {
  readonly address: BrokerAddress;
  /** Only for a broker the Supervisor named: one the user set is never swapped for another. */
  readonly source?: AddressSource;
}

/**
 * The broker to use: the options' `mqtt.host` when set, else the Mosquitto add-on found through
 * the Supervisor, else (outside a Supervisor) a broker on localhost.
 */
export async function resolveBroker(
  override: BrokerOverride,
  supervisor: SupervisorAccess,
  log: Logger,
  signal: AbortSignal,
): Promise<ResolvedBroker> {
  if (override.host !== undefined) {
    const tls = override.tls ?? false;
    const address: BrokerAddress = {
      host: override.host,
      port: override.port ?? (tls ? 8883 : 1883),
      tls,
      username: override.username,
      password: override.password,
    };
    log.info(`Using the MQTT broker set in the options: ${describeAddress(address)}`);
    return { address };
  }
  if (supervisor.token !== undefined && supervisor.token !== "") {
    const access = { url: supervisor.url, token: supervisor.token };
    const found = await discoverMqttBroker({
      ...access,
      log: {
        info: (message) => log.info(message),
        warn: (message) => log.warn(message),
        error: (message) => log.error(message),
      },
      signal,
    });
    return { address: addressOf(found), source: supervisorSource(access, log, signal) };
  }
  const address: BrokerAddress = {
    host: "localhost",
    port: override.port ?? 1883,
    tls: override.tls ?? false,
    username: override.username,
    password: override.password,
  };
  log.info(`No Supervisor here (SUPERVISOR_TOKEN is not set): using ${describeAddress(address)}`);
  return { address };
}

function addressOf(broker: MqttBroker): BrokerAddress {
  return {
    host: broker.host,
    port: broker.port,
    tls: broker.ssl,
    username: broker.username,
    password: broker.password,
  };
}

/** One question to the Supervisor per refresh; its problems are logged once per change. */
function supervisorSource(
  access: { readonly url: string; readonly token: string },
  log: Logger,
  signal: AbortSignal,
): AddressSource {
  let lastProblem: string | undefined;
  return {
    name: "the Supervisor",
    async refresh() {
      if (signal.aborted) return undefined;
      const result = await fetchMqttService({ ...access, signal }).catch(() => undefined);
      if (result === undefined) return undefined;
      if (result.kind === "found") {
        lastProblem = undefined;
        return addressOf(result.broker);
      }
      if (result.detail !== lastProblem) {
        lastProblem = result.detail;
        log.warn(
          `The Supervisor did not say where the MQTT broker is now (${result.detail}); asking again later`,
        );
      }
      return undefined;
    },
  };
}
