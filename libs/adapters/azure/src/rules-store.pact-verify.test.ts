// Provider side of flow 4a: the rules store is Blob storage (Azurite here) holding what our
// publisher writes. A provider state publishes a real rules snapshot with publishReferenceData;
// the message is the devicerules.json blob in force, as stored.
import { randomUUID } from 'node:crypto';
import { verifyAndRecord } from '@fieldlink/contracts/testing';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { publishReferenceData, snapshotBlobName } from './blob-reference-data.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '@fieldlink/azure-standins';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'fieldlink-stream-processor-azure-blob-reference-data.json';

let azurite: RunningAzurite;
let published: { container: ContainerClient; blobName: string } | undefined;

const stateHandlers = {
  'the rules store holds a threshold rule of a device type': async (params: unknown) => {
    const p = params as { deviceType: string; readingType: string; threshold: number; ruleOutput: string; validFrom: string };
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(`rules-${randomUUID().slice(0, 8)}`);
    await container.create();
    const validFrom = Date.parse(p.validFrom);
    await publishReferenceData(container, {
      validFrom,
      rules: [{ deviceType: p.deviceType, readingType: p.readingType, threshold: p.threshold, ruleOutput: p.ruleOutput }],
    });
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

describe('the rules store honours the pact of the stream processor (flow 4a)', () => {
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it(`holds every message of ${PACT_FILE} as published by the real publisher`, async () => {
    const summary = await verifyAndRecord({
      consumer: 'fieldlink-stream-processor',
      provider: 'azure-blob-reference-data',
      pactFile: PACT_FILE,
      providerProject: 'adapter-azure',
      options: { stateHandlers, messageProviders },
    });
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, summary.failure).toBe(true);
  });
});
