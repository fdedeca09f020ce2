import type { CfsThresholdRule } from '@fieldlink/domain';
import { afterEach, describe, expect, it } from 'vitest';
import { lookUpReference, type ReferenceDataPort } from '../reference-data-port.js';
import { uniqueDeviceId } from './conformance-support.js';

/** What the suite publishes before it reads: dated snapshots of the device rules, and device types. */
export interface ReferenceDataSeed {
  /** `validFrom` is a whole minute (epoch ms), as in CFS's `devicerules/{yyyy-MM-dd}/{HH-mm}/` paths. */
  readonly snapshots: ReadonlyArray<{ readonly validFrom: number; readonly rules: readonly CfsThresholdRule[] }>;
  readonly deviceTypes: Readonly<Record<string, string>>;
}

export interface ReferenceDataUnderTest {
  readonly referenceData: ReferenceDataPort;
  dispose(): Promise<void>;
}

/** Builds the adapter over a fresh store holding exactly the seed. */
export type ReferenceDataFactory = (seed: ReferenceDataSeed) => Promise<ReferenceDataUnderTest>;

const MINUTE = 60_000;
const T1 = Date.parse('2026-11-28T09:00:00Z');
const T2 = T1 + 90 * MINUTE;
const rulesV1: CfsThresholdRule[] = [{ deviceType: 'Thermostat', readingType: 'Temperature', threshold: 70, ruleOutput: 'AlarmTemp' }];
const rulesV2: CfsThresholdRule[] = [
  { deviceType: 'Thermostat', readingType: 'Temperature', threshold: 75, ruleOutput: 'AlarmTemp' },
  { deviceType: 'Thermostat', readingType: 'Humidity', threshold: 60, ruleOutput: 'AlarmHumidity' },
  { deviceType: 'Chiller', readingType: 'Pressure', threshold: 5.5, ruleOutput: 'AlarmPressure' },
];
const sorted = (rules: readonly CfsThresholdRule[]) =>
  [...rules].sort((a, b) => `${a.deviceType}/${a.readingType}`.localeCompare(`${b.deviceType}/${b.readingType}`));

/**
 * What every ReferenceDataPort adapter must do (flow 4a): the rules in force at a time are the
 * newest snapshot whose time has come (none before the first), and device metadata answers the
 * device type of a known device, whatever characters its id holds.
 */
export function referenceDataConformance(adapterName: string, factory: ReferenceDataFactory): void {
  describe(`${adapterName} conforms to ReferenceDataPort`, () => {
    let current: ReferenceDataUnderTest | undefined;
    afterEach(async () => {
      await current?.dispose();
      current = undefined;
    });

    it('answers the newest snapshot whose time has come, and no rules before the first', async () => {
      const { referenceData } = (current = await factory({
        snapshots: [
          { validFrom: T2, rules: rulesV2 },
          { validFrom: T1, rules: rulesV1 },
        ],
        deviceTypes: {},
      }));
      expect(await referenceData.deviceRules(T1 - 1)).toEqual([]);
      expect(sorted(await referenceData.deviceRules(T1))).toEqual(sorted(rulesV1));
      expect(sorted(await referenceData.deviceRules(T2 - 1))).toEqual(sorted(rulesV1));
      expect(sorted(await referenceData.deviceRules(T2))).toEqual(sorted(rulesV2));
      expect(sorted(await referenceData.deviceRules(T2 + 365 * 24 * 60 * MINUTE))).toEqual(sorted(rulesV2));
    });

    it('answers the device type of known devices, quotes in ids included, and nothing for others', async () => {
      const quoted = uniqueDeviceId("o'brien");
      const plain = uniqueDeviceId('chiller');
      const { referenceData } = (current = await factory({
        snapshots: [{ validFrom: T1, rules: rulesV1 }],
        deviceTypes: { [quoted]: 'Thermostat', [plain]: 'Chiller' },
      }));
      expect(await referenceData.deviceTypeOf(quoted)).toBe('Thermostat');
      expect(await referenceData.deviceTypeOf(plain)).toBe('Chiller');
      expect(await referenceData.deviceTypeOf(uniqueDeviceId('nobody'))).toBeUndefined();
    });

    it('looks up many devices and times at once as it answers them one by one (lookUp, or the calls one by one)', async () => {
      const known = uniqueDeviceId('thermostat');
      const unknown = uniqueDeviceId('nobody');
      const { referenceData } = (current = await factory({
        snapshots: [
          { validFrom: T1, rules: rulesV1 },
          { validFrom: T2, rules: rulesV2 },
        ],
        deviceTypes: { [known]: 'Thermostat' },
      }));
      const devices = [known, unknown];
      const times = [T1 - 1, T1, T2, T2 + MINUTE];
      const found = await lookUpReference(referenceData, devices, times);
      expect(found.deviceTypes).toEqual(await Promise.all(devices.map((d) => referenceData.deviceTypeOf(d))));
      expect(found.rulesAt.map(sorted)).toEqual((await Promise.all(times.map((t) => referenceData.deviceRules(t)))).map(sorted));
      expect(await lookUpReference(referenceData, [], [])).toEqual({ deviceTypes: [], rulesAt: [] });
    });

    it('answers no rules when nothing was published', async () => {
      const { referenceData } = (current = await factory({ snapshots: [], deviceTypes: {} }));
      expect(await referenceData.deviceRules(T2)).toEqual([]);
    });
  });
}
