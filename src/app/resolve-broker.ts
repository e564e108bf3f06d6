import { discoverMqttBroker } from "../supervisor/mqtt-service.js";
import { describeAddress, type BrokerAddress } from "../mqtt/broker-connection.js";
import type { BrokerOverride } from "../options/settings.js";
import type { Logger } from "../logging/logger.js";

export interface SupervisorAccess {
  readonly url: string;
  readonly token: string | undefined;
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
): Promise<BrokerAddress> {
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
    return address;
  }
  if (supervisor.token !== undefined && supervisor.token !== "") {
    const found = await discoverMqttBroker({
      url: supervisor.url,
      token: supervisor.token,
      log: {
        info: (message) => log.info(message),
        warn: (message) => log.warn(message),
        error: (message) => log.error(message),
      },
      signal,
    });
    return {
      host: found.host,
      port: found.port,
      tls: found.ssl,
      username: found.username,
      password: found.password,
    };
  }
  const address: BrokerAddress = {
    host: "localhost",
    port: override.port ?? 1883,
    tls: override.tls ?? false,
    username: override.username,
    password: override.password,
  };
  log.info(`No Supervisor here (SUPERVISOR_TOKEN is not set): using ${describeAddress(address)}`);
  return address;
}
