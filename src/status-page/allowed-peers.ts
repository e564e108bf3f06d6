/**
 * Who may ask the status page anything: Home Assistant's ingress proxy (the Supervisor, which has
 * checked that the person is logged in to Home Assistant) and this machine itself. Every other
 * address is refused, whatever it asks for.
 */

/** The Supervisor's address on the add-ons' network, from which every ingress request comes. */
export const INGRESS_PROXY = "172.30.32.2";

const ALLOWED_PEERS = new Set([
  INGRESS_PROXY,
  `::ffff:${INGRESS_PROXY}`,
  "127.0.0.1",
  "::1",
  "::ffff:127.0.0.1",
]);

/** `remoteAddress` as Node reports it: IPv4, IPv6, or IPv4 mapped into IPv6. */
export function isAllowedPeer(remoteAddress: string | undefined): boolean {
  return remoteAddress !== undefined && ALLOWED_PEERS.has(remoteAddress);
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * A request from this machine must also name this machine in its Host header: a web page on some
 * other site could otherwise point its own host name at 127.0.0.1 (DNS rebinding) and read the
 * page's answers from the user's browser. Requests through ingress name whatever the Supervisor
 * chose, and the Supervisor is trusted.
 */
export function isAllowedHost(remoteAddress: string | undefined, host: string | undefined): boolean {
  if (remoteAddress === INGRESS_PROXY || remoteAddress === `::ffff:${INGRESS_PROXY}`) return true;
  if (host === undefined) return false;
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0];
  return name !== undefined && LOOPBACK_HOSTS.has(name.toLowerCase());
}
