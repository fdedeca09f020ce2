// Consumer side of flow 4a: what the stream processor's reference data adapter (Blob storage, the
// CFS layout) needs of a devicerules.json snapshot. The example is the CFS devicerules fixture; the
// test puts the message in Azurite where CFS keeps it and reads it through the real adapter.
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient } from '@azure/storage-blob';
import { BlobReferenceData } from './blob-reference-data.js';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '@fieldlink/azure-standins';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const { eachLike, like, number } = MatchersV3;
const PACTS = fileURLToPath(new URL('../../../../contracts/pacts/', import.meta.url));
const [cfsRule] = JSON.parse(readFileSync(new URL('../../../../fixtures/cfs/devicerules.json', import.meta.url), 'utf8')) as Array<{
  DeviceType: string;
  Temperature: number;
  TemperatureRuleOutput: string;
}>;
const VALID_FROM = '2026-11-28T09:00:00Z';

const pact = new PactV4({ consumer: 'fieldlink-stream-processor', provider: 'azure-blob-reference-data', dir: PACTS, logLevel: 'error' });
let azurite: RunningAzurite;

describe('stream processor ← rules store (flow 4a)', () => {
  beforeAll(async () => {
    rmSync(`${PACTS}fieldlink-stream-processor-azure-blob-reference-data.json`, { force: true });
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it('reads the thresholds of a devicerules.json snapshot in force, per device type and reading', async () => {
    await pact
      .addAsynchronousInteraction()
      .given('the rules store holds a threshold rule of a device type', {
        deviceType: cfsRule!.DeviceType,
        readingType: 'Temperature',
        threshold: cfsRule!.Temperature,
        ruleOutput: cfsRule!.TemperatureRuleOutput,
        validFrom: VALID_FROM,
      })
      .expectsToReceive('the device rules in force', (b) =>
        b.withJSONContent(
          eachLike({
            DeviceType: like(cfsRule!.DeviceType),
            Temperature: number(cfsRule!.Temperature),
            TemperatureRuleOutput: like(cfsRule!.TemperatureRuleOutput),
          }),
        ),
      )
      .executeTest(async (message) => {
        const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(`rules-${randomUUID().slice(0, 8)}`);
        await container.create();
        const body = JSON.stringify(message.contents.content);
        await container.getBlockBlobClient('devicerules/2026-11-28/09-00/devicerules.json').upload(body, Buffer.byteLength(body));
        const referenceData = new BlobReferenceData({
          auth: { connectionString: azurite.connectionString },
          containerName: container.containerName,
          refreshIntervalMs: 0,
        });
        try {
          expect(await referenceData.deviceRules(Date.parse('2026-11-28T09:15:02.113Z'))).toEqual([
            { deviceType: 'Thermostat', readingType: 'Temperature', threshold: 70, ruleOutput: 'AlarmTemp' },
          ]);
          expect(await referenceData.deviceRules(Date.parse('2026-11-28T08:59:59Z'))).toEqual([]);
        } finally {
          await referenceData.close();
        }
      });
  });
});
