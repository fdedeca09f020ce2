// Test kit of the services' processes (workspace only, never published): what every app's main
// test asks of a service it starts with health endpoints and JSON logs.
import { createServer } from 'node:net';
import { expect } from 'vitest';

/** A port nothing listens on just now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The service answers `/healthz` alive and `/readyz` ready, both 200 with its name, on 127.0.0.1:`port`. */
export async function expectServing(port: number, service: string): Promise<void> {
  const alive = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect([alive.status, await alive.json()]).toEqual([200, { service, status: 'alive' }]);
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  expect([ready.status, await ready.json()]).toEqual([200, { service, status: 'ready' }]);
}

/** Every non-empty line of `output` is one JSON object; returns their `event` names in order. */
export function jsonLogEvents(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      expect(() => JSON.parse(line), line).not.toThrow();
      return (JSON.parse(line) as { event: string }).event;
    });
}
