import { Agent, type AgentOptions } from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import type { Duplex } from 'node:stream';
import tls, { type ConnectionOptions } from 'node:tls';

/**
 * An HTTPS agent for the IoT hub registry's REST calls. azure-iothub puts the hub's host name
 * where Node expects a bare host, so a hub on another port than 443 (`HostName=127.0.0.1:8443`,
 * a local stack) fails with `getaddrinfo ENOTFOUND 127.0.0.1:8443`: this agent splits host and
 * port before connecting, and trusts `ca` (PEM) besides the system's CAs when given.
 */
export function hubHttpsAgent(options: { readonly ca?: string } & AgentOptions = {}): Agent {
  const { ca, ...agentOptions } = options;
  const trust = ca === undefined ? {} : { ca: [...tls.rootCertificates, ca] };
  const agent = new Agent({ keepAlive: false, ...agentOptions, ...trust });
  (agent as unknown as { createConnection: (o: ConnectionOptions & { host?: string; servername?: string }) => Duplex }).createConnection = (o) => {
    const [host, port] = splitHostPort(o.host ?? '127.0.0.1', Number(o.port ?? 443));
    // An IP address is no server name (SNI); a host name stays one.
    const servername = /^[\d.]+$|:/.test(host) ? undefined : host;
    return tls.connect({ ...o, host, port, ...(servername === undefined ? { servername: undefined } : { servername }), ...trust });
  };
  return agent;
}

/** `host:port` → [host, port]; a bare host keeps the fallback port. */
export function splitHostPort(value: string, fallbackPort: number): [string, number] {
  const match = /^(.*):(\d+)$/.exec(value);
  return match ? [match[1]!, Number(match[2])] : [value, fallbackPort];
}

const trusted = new Set<string>();

/**
 * Trusts `pem` (CA certificates) besides the system's CAs for every TLS connection of this process
 * that names no CA of its own. Some Azure SDKs take no CA option (azure-iothub's service AMQP
 * client, rhea under Service Bus and Event Hubs), and Node reads `NODE_EXTRA_CA_CERTS` only at
 * start; this is how `tls.caFile` reaches all of them. Idempotent per certificate.
 */
export function trustCertificateAuthorities(pem: string): void {
  if (trusted.has(pem)) return;
  trusted.add(pem);
  const connect = tls.connect;
  const withTrust = (options: ConnectionOptions): ConnectionOptions =>
    options.ca !== undefined || options.secureContext !== undefined ? options : { ...options, ca: [...tls.rootCertificates, ...trusted] };
  const patched = function (this: unknown, ...args: unknown[]) {
    // tls.connect(options[, cb]) or tls.connect(port[, host][, options][, cb]): only the options form is what the SDKs use.
    if (typeof args[0] === 'object' && args[0] !== null) args[0] = withTrust(args[0] as ConnectionOptions);
    else {
      const at = args.findIndex((a) => typeof a === 'object' && a !== null);
      if (at >= 0) args[at] = withTrust(args[at] as ConnectionOptions);
      else args.splice(typeof args[1] === 'string' ? 2 : 1, 0, withTrust({}));
    }
    return (connect as (...a: unknown[]) => tls.TLSSocket).apply(this, args);
  };
  (tls as { connect: typeof tls.connect }).connect = patched as typeof tls.connect;
  // ES modules that imported `connect` by name see the change too.
  syncBuiltinESMExports();
}
