import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packEnvelopes, unpackEnvelopes } from './telemetry-ingest-worker-protocol.js';
import type { TelemetryEnvelope } from '@fieldlink/ports';

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
