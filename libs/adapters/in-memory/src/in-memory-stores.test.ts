import { referenceDataConformance, rejectedTelemetryConformance, ruleStateStoreConformance, statusStoreConformance } from '@fieldlink/ports/testing';
import { describe, expect, it } from 'vitest';
import { InMemoryReferenceData } from './in-memory-reference-data.js';
import { InMemoryRejectedTelemetry } from './in-memory-rejected-telemetry.js';
import { InMemoryRuleStateStore } from './in-memory-rule-state-store.js';
import { InMemoryStatusStore } from './in-memory-status-store.js';

referenceDataConformance('InMemoryReferenceData', async (seed) => {
  const referenceData = new InMemoryReferenceData();
  for (const s of seed.snapshots) referenceData.publishDeviceRules(s.validFrom, s.rules);
  for (const [deviceId, deviceType] of Object.entries(seed.deviceTypes)) referenceData.setDeviceType(deviceId, deviceType);
  return { referenceData, dispose: async () => undefined };
});

statusStoreConformance('InMemoryStatusStore', async () => ({ store: new InMemoryStatusStore(), dispose: async () => undefined }));

ruleStateStoreConformance('InMemoryRuleStateStore', async () => {
  const storage = new Map<string, Uint8Array>();
  return { store: new InMemoryRuleStateStore(storage), reopen: async () => new InMemoryRuleStateStore(storage), dispose: async () => undefined };
});

rejectedTelemetryConformance('InMemoryRejectedTelemetry', async () => ({ rejected: new InMemoryRejectedTelemetry(), dispose: async () => undefined }));

describe('InMemoryRuleStateStore', () => {
  it('refuses a snapshot that is not JSON data, naming the key', async () => {
    await expect(new InMemoryRuleStateStore().save('p0', undefined)).rejects.toThrow('"p0"');
  });

  it('keeps JSON text given to saveJson as save keeps its parse: read back equal, across a reopen, replacing what was there', async () => {
    const storage = new Map<string, Uint8Array>();
    const store = new InMemoryRuleStateStore(storage);
    const snapshot = { lastSequence: 41, windows: [{ deviceId: "o'brien-1", sum: 210.5 }], note: 'Température — ok', nothing: null };
    await store.save('p0', { lastSequence: 1 });
    await store.saveJson('p0', JSON.stringify(snapshot));
    expect(await new InMemoryRuleStateStore(storage).load('p0')).toStrictEqual(snapshot);
    await store.save('p1', snapshot);
    expect(storage.get('p0')).toStrictEqual(storage.get('p1'));
  });
});

describe('InMemoryRejectedTelemetry', () => {
  it('drops the oldest rejects beyond its capacity', async () => {
    const store = new InMemoryRejectedTelemetry(2);
    for (const n of [1, 2, 3])
      await store.reject({
        envelope: { body: new Uint8Array([n]), connectionDeviceId: 'd', enqueuedTime: n, partitionId: '0', sequenceNumber: n },
        reason: 'r',
        description: 'd',
      });
    expect((await store.list(10)).map((r) => r.envelope.sequenceNumber)).toEqual([2, 3]);
  });
});
