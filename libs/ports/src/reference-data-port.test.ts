import type { CfsThresholdRule } from '@fieldlink/domain';
import { describe, expect, it } from 'vitest';
import { lookUpReference, type ReferenceDataPort } from './reference-data-port.js';

describe('lookUpReference on a port without lookUp', () => {
  it('asks each distinct device and time once, and answers every one asked, in the order asked', async () => {
    const asked: string[] = [];
    const rules: readonly CfsThresholdRule[] = [{ deviceType: 'Thermostat', readingType: 'Temperature', threshold: 70, ruleOutput: 'Hot' }];
    const port: ReferenceDataPort = {
      deviceTypeOf: async (deviceId) => {
        asked.push(deviceId);
        return deviceId === 'boiler-1' ? 'Boiler' : undefined;
      },
      deviceRules: async (at) => {
        asked.push(`t${at}`);
        return at >= 10 ? rules : [];
      },
    };
    const found = await lookUpReference(port, ['boiler-1', 'unknown-2', 'boiler-1'], [5, 10, 10, 5]);
    expect(found).toEqual({ deviceTypes: ['Boiler', undefined, 'Boiler'], rulesAt: [[], rules, rules, []] });
    expect(asked.sort()).toEqual(['boiler-1', 't10', 't5', 'unknown-2']);
  });
});
