import { z } from 'zod';

/**
 * The native rule document, as a zod schema: the types below are inferred from it, so the
 * validator and the engine can never disagree about the shape. Durations are milliseconds.
 */

export const SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const COMPARISON_OPERATORS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];

export const AGGREGATE_FUNCTIONS = ['avg', 'min', 'max', 'sum', 'count'] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

const name = z.string().min(1, 'expected a non-empty string').max(200, 'expected at most 200 characters');
const durationMs = z.number().int('expected whole milliseconds').positive('expected a positive number of milliseconds');

/**
 * `value` is the threshold itself; `reference` names a threshold in the reference data (per device
 * type, overridable per device), and `value` is then the fallback when neither has it.
 */
export const conditionSchema = z
  .strictObject({
    operator: z.enum(COMPARISON_OPERATORS),
    value: z.number().optional(),
    reference: name.optional(),
  })
  .refine((c) => c.value !== undefined || c.reference !== undefined, { message: 'expected a "value" or a "reference"' });
export type Condition = z.infer<typeof conditionSchema>;

export const scopeSchema = z.union([z.strictObject({ deviceType: name }), z.strictObject({ deviceId: name })]);
export type RuleScope = z.infer<typeof scopeSchema>;

export const clearSchema = z.discriminatedUnion('when', [
  /** The alert clears as soon as the raising condition no longer holds (the default). */
  z.strictObject({ when: z.literal('conditionFalse') }),
  /** The alert clears on a reading that satisfies this condition (hysteresis). */
  z.strictObject({ when: z.literal('condition'), condition: conditionSchema }),
  /** The alert clears when the raising condition has not recurred for `forMs`. */
  z.strictObject({ when: z.literal('quiet'), forMs: durationMs }),
  /** No clear: every raise stands alone (the CFS behaviour). */
  z.strictObject({ when: z.literal('never') }),
]);
export type ClearPolicy = z.infer<typeof clearSchema>;

export const suppressionSchema = z.strictObject({
  /** The CFS rule: drop a raise when the same device had the same reading match within this time. */
  identicalReadingWithinMs: durationMs.optional(),
  /** At most one open alert per device and rule: further raises wait for the clear. */
  singleOpenAlert: z.boolean().optional(),
  /** No raise within this time after the previous raise of the same device and rule. */
  cooldownMs: durationMs.optional(),
});
export type SuppressionPolicy = z.infer<typeof suppressionSchema>;

export const windowSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('tumbling'), sizeMs: durationMs }),
  z.strictObject({ type: z.literal('hopping'), sizeMs: durationMs, hopMs: durationMs }),
  z.strictObject({ type: z.literal('sliding'), sizeMs: durationMs }),
]);
export type WindowSpec = z.infer<typeof windowSchema>;

const common = {
  id: name,
  description: z.string().max(100, 'expected at most 100 characters (msdyn_description)').optional(),
  scope: scopeSchema,
  severity: z.enum(SEVERITIES),
  /** What the alert says it is (the CFS `ruleoutput`, e.g. `AlarmTemp`); the rule id when absent. */
  output: name.optional(),
  clear: clearSchema.optional(),
  suppression: suppressionSchema.optional(),
};

export const ruleSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...common, kind: z.literal('threshold'), reading: name, condition: conditionSchema }),
  z.strictObject({ ...common, kind: z.literal('duration'), reading: name, condition: conditionSchema, forMs: durationMs }),
  z.strictObject({ ...common, kind: z.literal('repeating'), reading: name, condition: conditionSchema, count: z.number().int().min(1).max(1_000_000) }),
  z.strictObject({
    ...common,
    kind: z.literal('window'),
    reading: name,
    aggregate: z.enum(AGGREGATE_FUNCTIONS),
    window: windowSchema,
    condition: conditionSchema,
  }),
  z.strictObject({
    ...common,
    kind: z.literal('rateOfChange'),
    reading: name,
    /** The reading moved by more than this (in its own unit)... */
    change: z.number().positive('expected a positive change'),
    /** ...within this time. */
    withinMs: durationMs,
    direction: z.enum(['rise', 'fall', 'either']),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('absence'),
    /** Only messages carrying this reading count; any message of the device when absent. */
    reading: name.optional(),
    forMs: durationMs,
  }),
  z.strictObject({
    ...common,
    kind: z.literal('anomaly'),
    reading: name,
    direction: z.enum(['spike', 'dip', 'either']),
    /** How many of the device's latest readings make its recent history. */
    history: z.number().int().min(2).max(1000),
    /** No verdict before this many readings are in the history (defaults to `history`). */
    minHistory: z.number().int().min(2).max(1000).optional(),
    /** A reading further than this many standard deviations from the recent mean is a spike or dip. */
    deviations: z.number().positive(),
  }),
]);
export type RuleDefinition = z.infer<typeof ruleSchema>;
export type RuleKind = RuleDefinition['kind'];

/**
 * Thresholds as data: a named value per device type, overridable per device. A condition with a
 * `reference` takes the device's own value first, then its type's, then the condition's `value`.
 */
export const referenceDataSchema = z.strictObject({
  deviceTypes: z.record(z.string(), z.record(z.string(), z.number())).optional(),
  devices: z.record(z.string(), z.record(z.string(), z.number())).optional(),
});
export type ReferenceData = z.infer<typeof referenceDataSchema>;

export const eventTimePolicySchema = z.strictObject({
  lateArrivalToleranceMs: z.number().int().min(0).optional(),
  outOfOrderToleranceMs: z.number().int().min(0).optional(),
  action: z.enum(['adjust', 'drop']).optional(),
});

export const ruleDocumentSchema = z.strictObject({
  version: z.literal(1),
  rules: z.array(ruleSchema),
  referenceData: referenceDataSchema.optional(),
  eventTime: eventTimePolicySchema.optional(),
});
export type RuleDocument = z.infer<typeof ruleDocumentSchema>;
