import { eventually } from '@fieldlink/ports/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryIotHub } from './in-memory-iot-hub.js';

/**
 * A send (a body of the given size, with properties or not), a burst of small sends (past the
 * 4,096 events of a chunk of the hub's log), or a catch-up read by a consumer group that was behind.
 */
type Step =
  | { readonly kind: 'send'; readonly size: number; readonly withProperties: boolean }
  | { readonly kind: 'burst'; readonly count: number }
  | { readonly kind: 'read' };

const steps: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('send' as const),
        size: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constant(5_000)),
        withProperties: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('burst' as const), count: fc.integer({ min: 1, max: 6_000 }) }) },
  ),
  { maxLength: 60 },
);

/** Body n: its number, padded to the size asked for (bodies over 2 KiB are kept outside the shared slabs). */
const bodyOf = (n: number, size: number): string => String(n).padEnd(Math.max(size, String(n).length), '.');

describe('InMemoryIotHub retention (property)', () => {
  it('a group behind reads exactly the last retentionPerPartition events sent since its checkpoint, in order, with their bodies and properties, and bodies handed over stay intact after the retention drops them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 4_000, max: 9_000 })), steps, async (retention, plan) => {
        const hub = new InMemoryIotHub({ partitionCount: 1, retentionPerPartition: retention });
        try {
          await (await hub.subscribe('behind', async () => undefined)).close();
          const sent: Array<{ body: string; properties?: Record<string, string> }> = [];
          const handed: Array<{ sequence: number; body: Uint8Array; text: string }> = [];
          let checkpoint = 0;
          const readAll = async (): Promise<void> => {
            const expected = sent.map((event, sequence) => ({ sequence, ...event })).slice(Math.max(checkpoint, sent.length - retention));
            const seen: Array<{ sequence: number; body: string; properties?: Record<string, string> }> = [];
            const subscription = await hub.subscribe('behind', async (batch) => {
              for (const e of batch) {
                const text = new TextDecoder().decode(e.body);
                seen.push({ sequence: e.sequenceNumber, body: text, ...(e.properties === undefined ? {} : { properties: { ...e.properties } }) });
                handed.push({ sequence: e.sequenceNumber, body: e.body, text });
              }
            });
            try {
              await eventually(() => expect(seen).toHaveLength(expected.length), 2_000, 1);
              expect(seen).toEqual(expected);
            } finally {
              await subscription.close();
            }
            checkpoint = sent.length;
          };
          for (const step of plan) {
            if (step.kind === 'read') {
              await readAll();
              continue;
            }
            if (step.kind === 'burst') {
              for (let i = 0; i < step.count; i++) {
                const body = String(sent.length);
                sent.push({ body });
                await hub.send('thermostat-1', new TextEncoder().encode(body));
              }
              continue;
            }
            const n = sent.length;
            const body = bodyOf(n, step.size);
            const properties = step.withProperties ? { n: String(n) } : undefined;
            sent.push(properties === undefined ? { body } : { body, properties });
            await hub.send('thermostat-1', new TextEncoder().encode(body), properties);
          }
          await readAll();
          for (const h of handed) expect(new TextDecoder().decode(h.body)).toBe(h.text);
        } finally {
          await hub.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
