import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryRuleStateStore } from './in-memory-rule-state-store.js';

/** A save of a key, a snapshot of a size that grows or shrinks from one save to the next, in any script. */
const saves = fc.array(
  fc.record({
    key: fc.constantFrom('p0', 'p0/part/1', 'p1'),
    text: fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 300 }),
      fc.string({ minLength: 1, maxLength: 4 }).map((s) => s.repeat(2_000)),
    ),
    asJson: fc.boolean(),
  }),
  { maxLength: 40 },
);

describe('InMemoryRuleStateStore buffers written over (property)', () => {
  it('any sequence of saves, each text longer or shorter than the last under its key, reads back the last snapshot of every key, in this store and in one reopened over its storage', async () => {
    await fc.assert(
      fc.asyncProperty(saves, async (plan) => {
        const storage = new Map<string, Uint8Array>();
        const store = new InMemoryRuleStateStore(storage);
        const last = new Map<string, unknown>();
        for (const { key, text, asJson } of plan) {
          const snapshot = { key, text, length: text.length };
          if (asJson) await store.saveJson(key, JSON.stringify(snapshot));
          else await store.save(key, snapshot);
          last.set(key, snapshot);
        }
        const reopened = new InMemoryRuleStateStore(storage);
        for (const key of ['p0', 'p0/part/1', 'p1']) {
          expect(await store.load(key)).toStrictEqual(last.get(key));
          expect(await reopened.load(key)).toStrictEqual(last.get(key));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('InMemoryRuleStateStore buffers written over', () => {
  it('writes a key saved again over the buffer it made for it while the text fits, and makes a larger one when it does not', async () => {
    const storage = new Map<string, Uint8Array>();
    const store = new InMemoryRuleStateStore(storage);
    await store.save('p0', { text: 'x'.repeat(1_000) });
    const first = storage.get('p0')!.buffer;
    await store.save('p0', { text: 'y'.repeat(1_100) });
    expect(storage.get('p0')!.buffer).toBe(first);
    await store.save('p0', { text: 'z' });
    expect(storage.get('p0')!.buffer).toBe(first);
    expect(await store.load('p0')).toStrictEqual({ text: 'z' });
    await store.save('p0', { text: 'w'.repeat(2_000) });
    expect(storage.get('p0')!.buffer).not.toBe(first);
    expect(await store.load('p0')).toStrictEqual({ text: 'w'.repeat(2_000) });
  });

  it('never writes over bytes it did not make: a buffer given in its storage, or one another store over the same storage made', async () => {
    const given = new TextEncoder().encode(JSON.stringify({ text: 'given, and large enough for what follows' }));
    const storage = new Map<string, Uint8Array>([['p0', given]]);
    const store = new InMemoryRuleStateStore(storage);
    await store.save('p0', { text: 'short' });
    expect(JSON.parse(new TextDecoder().decode(given))).toStrictEqual({ text: 'given, and large enough for what follows' });

    const made = storage.get('p0')!;
    const copy = made.slice();
    await new InMemoryRuleStateStore(storage).save('p0', { text: 'other' });
    expect(made).toStrictEqual(copy);
    expect(await store.load('p0')).toStrictEqual({ text: 'other' });
  });
});
