import { randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { BlobReferenceData, publishReferenceData, snapshotBlobName } from './blob-reference-data.js';
import type { LogFields } from '@fieldlink/ports';
import { referenceDataConformance } from '@fieldlink/ports/testing';
import { startAzurite, type RunningAzurite } from '@fieldlink/azure-standins';

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const MINUTE = 60_000;
const newContainer = async () => {
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(`ref-${randomUUID().slice(0, 8)}`);
  await container.create();
  return container;
};

referenceDataConformance('BlobReferenceData on Azurite', async (seed) => {
  const container = await newContainer();
  for (const snapshot of seed.snapshots) await publishReferenceData(container, snapshot);
  // Device metadata is in force from the current minute, the time deviceTypeOf answers for.
  await publishReferenceData(container, { validFrom: Math.floor(Date.now() / MINUTE) * MINUTE, deviceTypes: seed.deviceTypes });
  const referenceData = new BlobReferenceData({
    auth: { connectionString: azurite.connectionString },
    containerName: container.containerName,
    refreshIntervalMs: 0,
  });
  return { referenceData, dispose: () => referenceData.close() };
});

describe('BlobReferenceData on Azurite, beyond the port contract', () => {
  const T1 = Date.parse('2026-11-28T09:00:00Z');
  const thermostat = (threshold: number) => [{ deviceType: 'Thermostat', readingType: 'Temperature', threshold, ruleOutput: 'AlarmTemp' }];

  /** Closed when the test ends, passed or failed. */
  const closedAtEnd = (referenceData: BlobReferenceData): BlobReferenceData => {
    onTestFinished(() => referenceData.close());
    return referenceData;
  };

  it('reads the CFS layout: devicerules/{yyyy-MM-dd}/{HH-mm}/devicerules.json, with the CFS fixture as it is', async () => {
    const container = await newContainer();
    expect(snapshotBlobName('devicerules/', T1, 'devicerules.json')).toBe('devicerules/2026-11-28/09-00/devicerules.json');
    const fixture = '[{"DeviceType":"Thermostat","Temperature":70.0,"Humidity":null,"TemperatureRuleOutput":"AlarmTemp","HumidityRuleOutput":null}]';
    await container.getBlockBlobClient('devicerules/2026-11-28/09-00/devicerules.json').upload(fixture, fixture.length);
    const referenceData = closedAtEnd(
      new BlobReferenceData({
        auth: { connectionString: azurite.connectionString },
        containerName: container.containerName,
        refreshIntervalMs: 0,
      }),
    );
    expect(await referenceData.deviceRules(T1)).toEqual(thermostat(70));
  });

  it('picks up a newer snapshot on its refresh interval', async () => {
    const container = await newContainer();
    await publishReferenceData(container, { validFrom: T1, rules: thermostat(70) });
    const referenceData = new BlobReferenceData({
      auth: { connectionString: azurite.connectionString },
      containerName: container.containerName,
      refreshIntervalMs: 200,
    });
    try {
      expect(await referenceData.deviceRules(T1 + 60 * MINUTE)).toEqual(thermostat(70));
      await publishReferenceData(container, { validFrom: T1 + 30 * MINUTE, rules: thermostat(80) });
      await expect.poll(() => referenceData.deviceRules(T1 + 60 * MINUTE), { timeout: 20_000 }).toEqual(thermostat(80));
      expect(await referenceData.deviceRules(T1 + 29 * MINUTE)).toEqual(thermostat(70));
    } finally {
      await referenceData.close();
    }
  });

  it('leaves out a snapshot that does not parse, says why in the log, and keeps the rules before it', async () => {
    const container = await newContainer();
    await publishReferenceData(container, { validFrom: T1, rules: thermostat(70) });
    const bad = '[{"DeviceType":"Thermostat","Temperature":"hot","TemperatureRuleOutput":"AlarmTemp"}]';
    await container.getBlockBlobClient(snapshotBlobName('devicerules/', T1 + MINUTE, 'devicerules.json')).upload(bad, bad.length);
    const warnings: Array<{ event: string; fields?: LogFields }> = [];
    const log = {
      info: () => undefined,
      error: () => undefined,
      warn: (event: string, fields?: LogFields) => void warnings.push({ event, ...(fields ? { fields } : {}) }),
    };
    const referenceData = closedAtEnd(
      new BlobReferenceData({
        auth: { connectionString: azurite.connectionString },
        containerName: container.containerName,
        refreshIntervalMs: 0,
        log,
      }),
    );
    expect(await referenceData.deviceRules(T1 + 2 * MINUTE)).toEqual(thermostat(70));
    expect(warnings).toEqual([
      {
        event: 'reference-data.snapshot-rejected',
        fields: { blob: 'devicerules/2026-11-28/09-01/devicerules.json', reason: expect.stringContaining('0.Temperature: expected a finite number or null') },
      },
    ]);
  });

  it('reports a wrong account key without echoing it', async () => {
    const wrongKey = Buffer.from(randomUUID()).toString('base64');
    const connectionString = azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${wrongKey}`);
    const referenceData = closedAtEnd(new BlobReferenceData({ auth: { connectionString }, containerName: 'anything', refreshIntervalMs: 0 }));
    const error = await referenceData.deviceRules(T1).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/Reading reference data from container 'anything' failed: .*(signature|authoriz|403)/i);
    expect(error?.message).not.toContain(wrongKey);
  });
});
