import {
  BUILT_IN_DEVICE_TYPES,
  err,
  ok,
  THERMOSTAT_DEFAULT_RULES,
  type CfsThresholdRule,
  type DeviceTypeDefinition,
  type ParameterSpec,
  type Result,
  type ValidationIssue,
} from '@fieldlink/domain';
import { z } from 'zod';
import { readDocumentFile, zodIssues } from './document-file.js';

/**
 * The device type document: device categories as data. Each type names its readings (with the
 * range a reading can take, and how a simulated device of the type behaves), its CFS threshold
 * rules (what `devicerules.json` holds for it) and its commands with their parameters. Every
 * numeric parameter carries its range, so a command outside what the device takes is refused
 * before it leaves. The built-in thermostat is always known; a document may add types (a type
 * of the same name replaces it).
 *
 * ```yaml
 * deviceTypes:
 *   - name: PressureSensor
 *     readings:
 *       - { name: Pressure, min: 0, max: 2000, simulation: { normal: 300, driftPerMinute: 240 } }
 *     rules:
 *       - { reading: Pressure, threshold: 800, ruleOutput: AlarmPressure }
 *     commands:
 *       - name: Release Pressure
 *         parameters:
 *           Target: { type: numericString, min: 0, max: 2000 }
 * ```
 */

const finite = (what: string) => z.number({ error: `expected ${what} as a number` }).refine(Number.isFinite, `expected ${what} as a finite number`);
/** A bound of a numeric parameter: required, so no parameter takes ±1e308. */
const bound = (which: 'min' | 'max') =>
  z
    .number({
      error: (i) =>
        i.input === undefined
          ? `required: a number parameter carries its range (${which})`
          : `expected the ${which === 'min' ? 'smallest' : 'largest'} value as a number`,
    })
    .refine(Number.isFinite, 'expected a finite number');
const name = z.string({ error: 'expected a name' }).trim().min(1, 'expected a non-empty name').max(100, 'expected at most 100 characters');

const range = <T extends { min: number; max: number }>(v: T, ctx: z.RefinementCtx): void => {
  if (v.min > v.max) ctx.addIssue({ code: 'custom', path: ['min'], message: `expected min (${v.min}) not above max (${v.max})` });
};

const parameterSpec: z.ZodType<ParameterSpec> = z.lazy(() =>
  z.discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('string'), maxLength: z.int().min(1).max(8_192).optional() }),
      // A number without a range could take ±1e308: the document says what the device takes.
      z.strictObject({ type: z.literal('numericString'), min: bound('min'), max: bound('max') }).superRefine(range),
      z.strictObject({ type: z.literal('number'), min: bound('min'), max: bound('max') }).superRefine(range),
      z.strictObject({ type: z.literal('boolean') }),
      z.strictObject({
        type: z.literal('object'),
        fields: z.record(name, parameterSpec),
        optional: z.array(name).optional(),
        atLeastOne: z.boolean().optional(),
      }),
    ],
    { error: 'expected a parameter {type: string | numericString | number | boolean | object, ...}; numbers need min and max' },
  ),
) as z.ZodType<ParameterSpec>;

const simulationSchema = z.strictObject({
  /** The value a healthy device holds. */
  normal: finite('the normal value'),
  /** How fast a drifting (failing) device's value climbs, per minute. */
  driftPerMinute: finite('the drift per minute').default(0),
});

const readingSchema = z
  .strictObject({
    name,
    unit: z.string().max(20).optional(),
    min: finite('the smallest reading'),
    max: finite('the largest reading'),
    simulation: simulationSchema.optional(),
  })
  .superRefine(range);

const deviceTypeSchema = z
  .strictObject({
    name,
    readings: z.array(readingSchema).min(1, 'expected at least one reading'),
    rules: z.array(z.strictObject({ reading: name, threshold: finite('the threshold'), ruleOutput: name })).default([]),
    commands: z.array(z.strictObject({ name, parameters: z.record(name, parameterSpec).default({}), optional: z.array(name).optional() })).default([]),
    /** Going offline raises an alert: a device silent this long (no message at all) is offline, and its alert has this rule output. */
    offline: z
      .strictObject({
        afterMs: z
          .int('expected a whole number of milliseconds')
          .min(1_000, 'expected at least 1000 ms')
          .max(7 * 24 * 3_600_000, 'expected at most a week'),
        ruleOutput: name,
      })
      .optional(),
  })
  .superRefine((t, ctx) => {
    const readings = new Set(t.readings.map((r) => r.name));
    if (readings.size !== t.readings.length) ctx.addIssue({ code: 'custom', path: ['readings'], message: 'expected each reading once' });
    t.rules.forEach((r, i) => {
      if (!readings.has(r.reading))
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'reading'],
          message: `"${r.reading}" is not a reading of ${t.name}; expected one of ${[...readings].join(', ')}`,
        });
    });
    const commands = t.commands.map((c) => c.name);
    if (new Set(commands).size !== commands.length) ctx.addIssue({ code: 'custom', path: ['commands'], message: 'expected each command name once' });
  });

export const deviceTypesDocumentSchema = z
  .strictObject({ deviceTypes: z.array(deviceTypeSchema).min(1, 'expected at least one device type') })
  .superRefine((d, ctx) => {
    const names = d.deviceTypes.map((t) => t.name);
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', path: ['deviceTypes'], message: 'expected each device type name once' });
  });

export type DeviceTypeReading = z.output<typeof readingSchema>;

/** A device type as configured: the domain's definition (readings, commands), its CFS rules, and its readings' ranges and simulation. */
export interface ConfiguredDeviceType {
  readonly definition: DeviceTypeDefinition;
  readonly rules: readonly CfsThresholdRule[];
  readonly readings: readonly DeviceTypeReading[];
}

/** The device types a process knows: the built-in thermostat, then the document's. */
export interface DeviceTypes {
  readonly types: readonly ConfiguredDeviceType[];
  /** Where they came from: `built-in`, or the document's path. */
  readonly source: string;
}

const BUILT_IN: readonly ConfiguredDeviceType[] = BUILT_IN_DEVICE_TYPES.map((definition) => ({
  definition,
  rules: THERMOSTAT_DEFAULT_RULES.filter((r) => r.deviceType === definition.name),
  readings: definition.readings.map((r) => ({ name: r, min: r === 'Humidity' ? 0 : -50, max: r === 'Humidity' ? 100 : 150 })),
}));

/** Validates a parsed device type document; issues carry the path inside it. */
export function parseDeviceTypesDocument(document: unknown): Result<ConfiguredDeviceType[], ValidationIssue[]> {
  const parsed = deviceTypesDocumentSchema.safeParse(document);
  if (!parsed.success) return err(zodIssues(parsed.error));
  return ok(
    parsed.data.deviceTypes.map((t) => ({
      definition: {
        name: t.name,
        readings: t.readings.map((r) => r.name),
        commands: t.commands.map((c) => ({ name: c.name, parameters: c.parameters, ...(c.optional === undefined ? {} : { optional: c.optional }) })),
        // The absence rule the connection monitor raises when a device of this type goes offline.
        defaultRules:
          t.offline === undefined
            ? []
            : [
                {
                  id: `${t.name}-offline`,
                  kind: 'absence' as const,
                  scope: { deviceType: t.name },
                  forMs: t.offline.afterMs,
                  severity: 'major' as const,
                  output: t.offline.ruleOutput,
                },
              ],
      },
      rules: t.rules.map((r) => ({ deviceType: t.name, readingType: r.reading, threshold: r.threshold, ruleOutput: r.ruleOutput })),
      readings: t.readings,
    })),
  );
}

/** The device types of the configuration: the built-in thermostat, plus the document at `file` (its types win by name). */
export function deviceTypesOf(file: string | undefined): Result<DeviceTypes, ValidationIssue[]> {
  if (file === undefined) return ok({ types: BUILT_IN, source: 'built-in' });
  const read = readDocumentFile(file);
  if (!read.ok) return read;
  const parsed = parseDeviceTypesDocument(read.value);
  if (!parsed.ok) return parsed;
  const names = new Set(parsed.value.map((t) => t.definition.name));
  return ok({ types: [...BUILT_IN.filter((t) => !names.has(t.definition.name)), ...parsed.value], source: file });
}

/** The CFS threshold rules of the device types, as reference data when no `rules.file` is given. */
export const deviceRulesOfTypes = (types: DeviceTypes): CfsThresholdRule[] => types.types.flatMap((t) => t.rules);
