// Provider side of flow 4a: the rules store is Blob storage (Azurite here) holding what our
// publisher writes. A provider state publishes a real rules snapshot with publishReferenceData;
// the message is the devicerules.json blob in force, as stored.
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { publishReferenceData, snapshotBlobName } from '@fieldlink/adapter-azure';
import { Verifier } from '@pact-foundation/pact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from './azurite.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'stream-processor-rules-store.json';
const pactPath = fileURLToPath(new URL(`../../../../contracts/pacts/${PACT_FILE}`, import.meta.url));
const resultsDir = fileURLToPath(new URL('../../../../tmp/pact-results/', import.meta.url));

let azurite: RunningAzurite;
let published: { container: ContainerClient; blobName: string } | undefined;

const stateHandlers = {
  'the rules store holds a threshold rule of a device type': async (params: unknown) => {
    const p = params as { deviceType: string; readingType: string; threshold: number; ruleOutput: string; validFrom: string };
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(`rules-${randomUUID().slice(0, 8)}`);
    await container.create();
    const validFrom = Date.parse(p.validFrom);
    await publishReferenceData(container, { validFrom, rules: [{ deviceType: p.deviceType, readingType: p.readingType, threshold: p.threshold, ruleOutput: p.ruleOutput }] });
    published = { container, blobName: snapshotBlobName('devicerules/', validFrom, 'devicerules.json') };
    return undefined;
  },
};

const messageProviders = {
  'the device rules in force': async () => {
    if (published === undefined) throw new Error('no provider state was set up');
    const blob = await published.container.getBlobClient(published.blobName).downloadToBuffer();
    return JSON.parse(blob.toString('utf8')) as unknown;
  },
};

function summaryOf(outcome: unknown): { result: boolean; interactionResults: Array<{ description: string; result: string }> } {
  const text = outcome instanceof Error ? outcome.message : String(outcome);
  try {
    return JSON.parse(text) as ReturnType<typeof summaryOf>;
  } catch {
    return { result: false, interactionResults: [] };
  }
}

describe('the rules store honours the pact of the stream processor (flow 4a)', () => {
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it(`holds every message of ${PACT_FILE} as published by the real publisher`, async () => {
    const pactBytes = readFileSync(pactPath);
    const outcome = await new Verifier({ provider: 'rules-store', pactUrls: [pactPath], stateHandlers, messageProviders, logLevel: 'error' }).verifyProvider().catch((e: unknown) => e);
    const summary = summaryOf(outcome);
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(
      `${resultsDir}${PACT_FILE}`,
      JSON.stringify({
        consumer: 'stream-processor',
        provider: 'rules-store',
        pactFile: PACT_FILE,
        pactSha256: createHash('sha256').update(pactBytes).digest('hex'),
        providerProject: 'azure-standins',
        verifiedAt: new Date().toISOString(),
        passed: summary.result,
        interactions: summary.interactionResults.map((i) => ({ description: i.description, result: i.result })),
      }),
    );
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, outcome instanceof Error ? outcome.message : '').toBe(true);
  });
});
