import { afterEach, describe, expect, it } from 'vitest';
import type { RuleStateStorePort } from '../rule-state-store-port.js';
import { uniqueDeviceId } from './conformance-support.js';

export interface RuleStateStoreUnderTest {
  readonly store: RuleStateStorePort;
  /** A second store over the same storage, as a restarted process would open it. */
  reopen(): Promise<RuleStateStorePort>;
  dispose(): Promise<void>;
}

export type RuleStateStoreFactory = () => Promise<RuleStateStoreUnderTest>;

const snapshot = {
  version: 1,
  windows: [{ deviceId: "o'brien-1", rule: 'avg-temp', start: 1_795_857_300_000, sum: 210.5, count: 3 }],
  suppressed: { "o'brien-1/Temperature/86": 1_795_857_302_113 },
  note: 'Température — ok',
  nothing: null,
};

/**
 * What every RuleStateStorePort adapter must do: a saved snapshot reads back equal (JSON data:
 * objects, arrays, strings, numbers, booleans, null), survives a reopen, is replaced by the next
 * save under the same key, and keys do not see each other.
 */
export function ruleStateStoreConformance(adapterName: string, factory: RuleStateStoreFactory): void {
  describe(`${adapterName} conforms to RuleStateStorePort`, () => {
    let current: RuleStateStoreUnderTest | undefined;
    const open = async () => (current = await factory());
    afterEach(async () => {
      await current?.dispose();
      current = undefined;
    });

    it('reads back what was saved, and nothing for a key never saved', async () => {
      const { store } = await open();
      const key = uniqueDeviceId('partition');
      expect(await store.load(key)).toBeUndefined();
      await store.save(key, snapshot);
      expect(await store.load(key)).toEqual(snapshot);
    });

    it('answers loadJson, where the store has it, with the text of what was saved (parsing to what load answers), and nothing for a key never saved', async () => {
      const { store } = await open();
      if (store.loadJson === undefined) return;
      const key = uniqueDeviceId('partition');
      expect(await store.loadJson(key)).toBeUndefined();
      await store.save(key, snapshot);
      const text = await store.loadJson(key);
      expect(typeof text).toBe('string');
      expect(JSON.parse(text!)).toEqual(snapshot);
      expect(JSON.parse(text!)).toEqual(await store.load(key));
    });

    it('replaces the snapshot of a key on the next save, and keeps keys apart', async () => {
      const { store } = await open();
      const a = uniqueDeviceId('partition-a');
      const b = uniqueDeviceId('partition-b');
      await store.save(a, snapshot);
      await store.save(b, { version: 1, windows: [] });
      await store.save(a, { version: 2, windows: [] });
      expect(await store.load(a)).toEqual({ version: 2, windows: [] });
      expect(await store.load(b)).toEqual({ version: 1, windows: [] });
    });

    it('keeps what was saved safe from later changes of the caller’s object', async () => {
      const { store } = await open();
      const key = uniqueDeviceId('partition');
      const state = { counters: [1, 2] };
      await store.save(key, state);
      state.counters.push(3);
      expect(await store.load(key)).toEqual({ counters: [1, 2] });
    });

    it('keeps the snapshot for a store opened again over the same storage', async () => {
      const harness = await open();
      const key = uniqueDeviceId('partition');
      await harness.store.save(key, snapshot);
      const reopened = await harness.reopen();
      expect(await reopened.load(key)).toEqual(snapshot);
    });
  });
}
