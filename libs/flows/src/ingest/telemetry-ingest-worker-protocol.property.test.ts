import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CfsThresholdRule } from '@fieldlink/domain';
import type { DeviceHealth, MinuteAggregate, ReferenceDataPort, TelemetryEnvelope } from '@fieldlink/ports';
import {
  batchReference,
  eachReferenced,
  packAggregates,
  packEnvelopes,
  packHealth,
  unpackAggregates,
  unpackEnvelopes,
  unpackHealth,
} from './telemetry-ingest-worker-protocol.js';

const envelope = (partitionId: string): fc.Arbitrary<TelemetryEnvelope> =>
  fc
    .record({
      body: fc.uint8Array({ maxLength: 200 }),
      connectionDeviceId: fc.string({ minLength: 1, maxLength: 20 }),
      enqueuedTime: fc.integer({ min: 0, max: 4_102_444_800_000 }),
      sequenceNumber: fc.maxSafeNat(),
      properties: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })), { nil: undefined }),
    })
    .map(({ properties, ...rest }) => (properties === undefined ? { ...rest, partitionId } : { ...rest, partitionId, properties: { ...properties } }));

describe('envelopes packed for a worker thread', () => {
  it('property: unpacking what was packed gives back every envelope, in order, field for field (bodies, ids, times, sequence numbers, properties)', () => {
    fc.assert(
      fc.property(
        fc.array(envelope('3'), { maxLength: 30 }).map((list) => ({ list })),
        ({ list }) => {
          const { packed, transfer } = packEnvelopes('3', list);
          // The buffers listed for transfer are the packed ones, so moving them leaves the envelopes given here whole.
          expect(transfer).toContain(packed.bodies.buffer);
          const again = unpackEnvelopes(structuredClone(packed, { transfer }));
          expect(again.map((e) => ({ ...e, body: [...e.body] }))).toStrictEqual(list.map((e) => ({ ...e, body: [...e.body] })));
          expect(packed.bodies.buffer.byteLength).toBe(0);
          expect(list.every((e) => e.body.buffer.byteLength >= e.body.byteLength)).toBe(true);
        },
      ),
    );
  });
});

/** Reference data with a few device types and rule lists that change at given times; with or without `lookUp`. */
function referenceData(types: ReadonlyMap<string, string>, changes: readonly number[], withLookUp: boolean): ReferenceDataPort {
  const lists = [...changes, Number.POSITIVE_INFINITY].map((from, i): readonly CfsThresholdRule[] => [
    { deviceType: `type-${i % 3}`, readingType: 'Temperature', threshold: 70 + i, ruleOutput: `Rule ${i}` },
  ]);
  const rulesAt = (at: number): readonly CfsThresholdRule[] => lists[changes.filter((c) => c <= at).length]!;
  const port: ReferenceDataPort = { deviceRules: async (at) => rulesAt(at), deviceTypeOf: async (d) => types.get(d) };
  return withLookUp ? { ...port, lookUp: async (devices, times) => ({ deviceTypes: devices.map((d) => types.get(d)), rulesAt: times.map(rulesAt) }) } : port;
}

describe('reference data sent with a batch to a worker thread', () => {
  it('property: for every envelope of any batch, the worker reads the device type and the rules in force the reference data gives, after the clone', async () => {
    const devices = fc.constantFrom('d-1', 'd-2', 'd-3', 'thermostat-4', 'unknown-5');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ deviceId: devices, enqueuedTime: fc.integer({ min: 0, max: 50 }) }), { maxLength: 40 }),
        fc.dictionary(devices, fc.constantFrom('Thermostat', 'Boiler', 'Chiller')),
        fc.uniqueArray(fc.integer({ min: 0, max: 50 }), { maxLength: 3 }).map((c) => c.sort((a, b) => a - b)),
        fc.boolean(),
        fc.boolean(),
        async (readings, typeOf, changes, withLookUp, sorted) => {
          const ordered = sorted ? [...readings].sort((a, b) => a.enqueuedTime - b.enqueuedTime) : readings;
          const envelopes: TelemetryEnvelope[] = ordered.map((r, i) => ({
            body: new Uint8Array([i]),
            connectionDeviceId: r.deviceId,
            enqueuedTime: r.enqueuedTime,
            partitionId: '0',
            sequenceNumber: i,
          }));
          const types = new Map(Object.entries(typeOf).filter(([d]) => d !== 'unknown-5'));
          const port = referenceData(types, changes, withLookUp);
          const { reference, transfer: referenceBuffers } = await batchReference(port, envelopes);
          const { packed, transfer } = packEnvelopes('0', envelopes);
          const [packedThere, referenceThere] = structuredClone([packed, reference], { transfer: [...transfer, ...referenceBuffers] });
          const seen: Array<[string, string | undefined, number, readonly CfsThresholdRule[]]> = [];
          eachReferenced(unpackEnvelopes(packedThere), referenceThere, (deviceId, deviceType, at, rules) => seen.push([deviceId, deviceType, at, rules]));
          const expected = await Promise.all(
            envelopes.map(async (e) => [
              e.connectionDeviceId,
              await port.deviceTypeOf(e.connectionDeviceId),
              e.enqueuedTime,
              await port.deviceRules(e.enqueuedTime),
            ]),
          );
          expect(seen).toEqual(expected);
          // Each type and each rule list crosses once, however many envelopes share it.
          expect(new Set(referenceThere.types).size).toBe(referenceThere.types.length);
          expect(referenceThere.ruleLists.length).toBeLessThanOrEqual(changes.length + 1);
        },
      ),
    );
  });
});

const anyNumber = fc.double();
/** Reading types and rule outputs, among them names an object treats apart. */
const name = fc.oneof(fc.constantFrom('Temperature', 'Humidity', '__proto__', '0'), fc.string({ maxLength: 12 }));
const aggregate: fc.Arbitrary<MinuteAggregate> = fc
  .record(
    {
      deviceId: fc.string({ maxLength: 20 }),
      readingType: name,
      windowEnd: anyNumber,
      count: anyNumber,
      min: anyNumber,
      max: anyNumber,
      avg: anyNumber,
      peak: fc.option(
        fc.record(
          { eventToken: fc.string({ maxLength: 20 }), time: anyNumber, threshold: fc.option(anyNumber), ruleOutput: fc.option(name) },
          { noNullPrototype: true },
        ),
        { nil: undefined },
      ),
    },
    { noNullPrototype: true },
  )
  .map(({ peak, ...row }) => (peak === undefined ? row : { ...row, peak }));
const health: fc.Arbitrary<DeviceHealth> = fc.record(
  {
    deviceId: fc.string({ maxLength: 20 }),
    lastActivityTime: anyNumber,
    online: fc.boolean(),
    lastReadings: fc.dictionary(name, anyNumber, { noNullPrototype: true }),
  },
  { noNullPrototype: true },
);

describe('status rows packed for the main thread', () => {
  it('property: unpacking what was packed and cloned gives back every aggregate row, in order, field for field (peaks, null thresholds and rule outputs, -0 and NaN)', () => {
    fc.assert(
      fc.property(fc.array(aggregate, { maxLength: 30 }), (rows) => {
        expect(unpackAggregates(structuredClone(packAggregates(rows)))).toStrictEqual(rows);
      }),
    );
  });

  it('property: unpacking what was packed and cloned gives back every health row, in order, its last readings with their names in order', () => {
    fc.assert(
      fc.property(fc.array(health, { maxLength: 30 }), (rows) => {
        const again = unpackHealth(structuredClone(packHealth(rows)));
        expect(again).toStrictEqual(rows);
        expect(again.map((r) => Object.keys(r.lastReadings))).toStrictEqual(rows.map((r) => Object.keys(r.lastReadings)));
      }),
    );
  });
});
