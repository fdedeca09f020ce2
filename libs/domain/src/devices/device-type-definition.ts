import type { RuleDefinition } from '../rules/rule-definition.js';
import type { DeviceType } from './device-type.js';

/** What a command parameter may hold. Numbers travel as strings in CFS payloads (`"30"`). */
export type ParameterSpec =
  | { readonly type: 'string'; readonly maxLength?: number }
  | { readonly type: 'numericString'; readonly min?: number; readonly max?: number }
  | { readonly type: 'number'; readonly min?: number; readonly max?: number }
  | { readonly type: 'boolean' }
  | { readonly type: 'object'; readonly fields: Readonly<Record<string, ParameterSpec>>; readonly atLeastOne?: boolean; readonly optional?: readonly string[] };

export interface CommandSpec {
  readonly name: string;
  readonly parameters: Readonly<Record<string, ParameterSpec>>;
  /** Parameters that may be left out; every other one is required. */
  readonly optional?: readonly string[];
}

/**
 * A device type as data: its readings, the commands it accepts with their parameters, and its
 * default rules (native rule definitions). A team adds a type by writing one of these (in code
 * or as JSON); the engine and validators need no change.
 */
export interface DeviceTypeDefinition extends DeviceType {
  readonly commands: readonly CommandSpec[];
  readonly defaultRules: readonly RuleDefinition[];
}

/** Temperatures a thermostat accepts as its set point (the CFS samples use both Celsius and Fahrenheit values). */
export const THERMOSTAT_SET_POINT_RANGE = { min: -50, max: 150 } as const;

export const THERMOSTAT_DEVICE_TYPE: DeviceTypeDefinition = {
  name: 'Thermostat',
  readings: ['Temperature', 'Humidity'],
  commands: [
    { name: 'Reset Thermostat', parameters: {} },
    { name: 'Notification', parameters: { Message: { type: 'string', maxLength: 4096 } } },
    {
      name: 'Set Values',
      // The ranges a thermostat can be set to (degrees, percent): a set point outside them is refused before it leaves.
      parameters: {
        Reading: {
          type: 'object',
          fields: {
            Temperature: { type: 'numericString', min: THERMOSTAT_SET_POINT_RANGE.min, max: THERMOSTAT_SET_POINT_RANGE.max },
            Humidity: { type: 'numericString', min: 0, max: 100 },
          },
          optional: ['Temperature', 'Humidity'],
          atLeastOne: true,
        },
      },
    },
  ],
  defaultRules: [
    {
      id: 'thermostat-temperature-above-70',
      kind: 'threshold',
      scope: { deviceType: 'Thermostat' },
      reading: 'Temperature',
      condition: { operator: '>', value: 70 },
      severity: 'warning',
      output: 'AlarmTemp',
      clear: { when: 'never' },
      suppression: { identicalReadingWithinMs: 60_000 },
    },
  ],
};

/** The device types Fieldlink knows without configuration. */
export const BUILT_IN_DEVICE_TYPES: readonly DeviceTypeDefinition[] = [THERMOSTAT_DEVICE_TYPE];
