import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerPactsOf, fieldlinkPact, fieldlinkPacts, providerOfPact, verifyPact } from './team-verification.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

/** What a team's own stream processor would put on the alerts queue for the pact's provider state. */
interface ReadingOverThreshold {
  deviceId: string;
  readingType: string;
  reading: number;
  threshold: number;
  ruleOutput: string;
}
const teamStreamProcessor = (drop?: string) => {
  let state: ReadingOverThreshold | undefined;
  return {
    stateHandlers: {
      'a device of a type with a threshold reads over it': async (params: unknown) => {
        state = params as ReadingOverThreshold;
        return undefined;
      },
    },
    messageProviders: {
      'a CFS alerts-queue message': async () => {
        const s = state!;
        const alert: Record<string, unknown> = {
          deviceid: s.deviceId,
          readingtype: s.readingType,
          reading: s.reading,
          eventtoken: 'b1e4f7a0-0000-4000-8000-000000000001',
          threshold: s.threshold,
          ruleoutput: s.ruleOutput,
          time: '2026-12-01T10:00:00.000Z',
        };
        if (drop !== undefined) delete alert[drop];
        return [alert];
      },
    },
  };
};

const orchestratorPact = fieldlinkPact('fieldlink-orchestrator', 'fieldlink-stream-processor');
let server: Server;
let pactUrl: string;
beforeAll(async () => {
  // The pact served over HTTP, as a Pact Broker or a release asset serves it.
  server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(readFileSync(orchestratorPact.path));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pactUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pacts/provider/fieldlink-stream-processor/consumer/fieldlink-orchestrator/latest`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('the pacts Fieldlink ships', () => {
  it('are listed with their participants, each named for what it is, their kind and interactions', () => {
    const pacts = fieldlinkPacts();
    expect(pacts.length).toBeGreaterThanOrEqual(11);
    for (const p of pacts) expect(p.path.endsWith(`${p.consumer}-${p.provider}.json`)).toBe(true);
    // Fieldlink's own sides say so; the Microsoft services they stand for say which.
    const names = new Set(pacts.flatMap((p) => [p.consumer, p.provider]));
    for (const name of names) expect(name).toMatch(/^(fieldlink|azure|dataverse)-/);
    expect(orchestratorPact).toMatchObject({
      kind: 'message',
      interactions: [{ description: 'a CFS alerts-queue message', providerStates: ['a device of a type with a threshold reads over it'] }],
    });
    expect(fieldlinkPact('fieldlink-dynamics-adapter', 'dataverse-web-api').kind).toBe('http');
  });

  it('refuse a pair Fieldlink does not ship, listing the ones it does', () => {
    expect(() => fieldlinkPact('fieldlink-orchestrator', 'acme-crm')).toThrow(
      /ships no pact of consumer fieldlink-orchestrator and provider acme-crm; it ships .*fieldlink-orchestrator ← fieldlink-stream-processor/,
    );
  });
});

describe("a team's own provider against a Fieldlink consumer pact", () => {
  it('passes by file and by URL when it sends what the orchestrator needs', async () => {
    const byFile = await verifyPact({ pact: orchestratorPact.path, provider: 'fieldlink-stream-processor', options: teamStreamProcessor() });
    expect(byFile.passed, byFile.failure).toBe(true);
    expect(byFile.interactions).toEqual([{ description: 'a CFS alerts-queue message', result: 'OK' }]);
    expect(await providerOfPact(pactUrl)).toBe('fieldlink-stream-processor');
    const byUrl = await verifyPact({ pact: pactUrl, provider: 'fieldlink-stream-processor', options: teamStreamProcessor() });
    expect(byUrl.passed, byUrl.failure).toBe(true);
  }, 60_000);

  it('fails, naming the interaction, when its message lacks a field the orchestrator reads', async () => {
    const result = await verifyPact({ pact: orchestratorPact.path, provider: 'fieldlink-stream-processor', options: teamStreamProcessor('threshold') });
    expect(result.passed).toBe(false);
    expect(result.interactions).toEqual([{ description: 'a CFS alerts-queue message', result: expect.not.stringMatching(/^OK$/) }]);
  }, 60_000);
});

describe('FIELDLINK_CONSUMER_PACTS', () => {
  it('lists the pacts, files or URLs, comma-separated, blanks ignored', () => {
    expect(consumerPactsOf({ FIELDLINK_CONSUMER_PACTS: ' a.json, https://broker/pacts/x ,,' })).toEqual(['a.json', 'https://broker/pacts/x']);
    expect(consumerPactsOf({})).toEqual([]);
  });
});
