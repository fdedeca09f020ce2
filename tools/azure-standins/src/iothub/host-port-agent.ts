import { Agent, type AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect, type ConnectionOptions } from 'node:tls';

/**
 * An HTTPS agent for SDKs that put a hub's `host:port` where Node expects a bare host (the
 * stand-ins listen on a port the system picks, not on 443): it splits the two before connecting,
 * and trusts the stand-in's certificate.
 */
export function hostPortAgent(ca: string, options: AgentOptions = {}): Agent {
  const agent = new Agent({ keepAlive: false, ...options, ca });
  (agent as unknown as { createConnection: (o: ConnectionOptions & { host?: string }) => Duplex }).createConnection = (o) => {
    const [host, port] = splitHostPort(o.host ?? '127.0.0.1', Number(o.port ?? 443));
    return connect({ ...o, host, port, servername: undefined, ca });
  };
  return agent;
}

function splitHostPort(value: string, fallbackPort: number): [string, number] {
  const match = /^(.*):(\d+)$/.exec(value);
  return match ? [match[1]!, Number(match[2])] : [value, fallbackPort];
}
