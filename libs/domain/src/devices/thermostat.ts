import type { CfsThresholdRule } from '../rules/cfs/cfs-device-rules.js';
import type { DeviceType } from './device-type.js';

export const THERMOSTAT: DeviceType = {
  name: 'Thermostat',
  readings: ['Temperature', 'Humidity'],
};

/** The CFS default reference data: a thermostat above 70 degrees raises `AlarmTemp`. */
export const THERMOSTAT_DEFAULT_RULES: readonly CfsThresholdRule[] = [
  { deviceType: 'Thermostat', readingType: 'Temperature', threshold: 70, ruleOutput: 'AlarmTemp' },
];
