import { HUB_DEVICE_ID_PATTERN, err, ok, type Result, type ValidationIssue } from '@fieldlink/domain';
import { z } from 'zod';
import { decodeJsonBody, encodeJsonBody } from '../codec/json-body.js';
import { toValidationIssues } from '../codec/zod-issues.js';
import type { DeviceHealth, MinuteAggregate } from '../status-store-port.js';

const MINUTE_MS = 60_000;
/** Reading types are telemetry field names; bounded so an oversized one is refused by name. */
export const READING_TYPE_MAX = 128;

const finite = z.number('expected a number').refine(Number.isFinite, 'expected a finite number');
const epochMs = z.number('expected epoch milliseconds').int('expected whole epoch milliseconds').min(0, 'expected a time after 1970');
const deviceId = z.string('expected an IoT Hub device id').regex(HUB_DEVICE_ID_PATTERN, 'expected an IoT Hub device id');
const readingType = z
  .string('expected a reading type')
  .min(1, 'expected a reading type')
  .max(READING_TYPE_MAX, `expected at most ${READING_TYPE_MAX} characters`);

/**
 * Flow 5: one row of the per-device per-minute aggregates (beside them, the CFS `crmiotevents`
 * table that Power BI reads keeps each window's peak event), as stream processing writes it and
 * the status view reads it: one row per
 * device, reading type and minute, stamped with the window end (epoch ms, a whole minute).
 * Columns a deployment adds to its table are carried along and ignored.
 */
export const minuteAggregateRowSchema = z
  .looseObject({
    deviceId,
    readingType,
    windowEnd: epochMs.refine((t) => t % MINUTE_MS === 0, 'expected the end of a minute (a whole minute)'),
    count: z.number('expected a count').int('expected a whole count').min(1, 'expected at least one reading'),
    min: finite,
    max: finite,
    avg: finite,
  })
  .refine((r) => r.min <= r.max, { path: ['max'], message: 'expected max at least min' });
export type MinuteAggregateRow = z.infer<typeof minuteAggregateRowSchema>;

/**
 * Flow 5: a device's health row: when it was last heard from (epoch ms), whether it counts as
 * online (from heartbeats), and its last value of every reading type.
 */
export const deviceHealthRowSchema = z.looseObject({
  deviceId,
  lastActivityTime: epochMs,
  online: z.boolean('expected true or false'),
  lastReadings: z.record(readingType, finite, 'expected an object of reading type → number'),
});
export type DeviceHealthRow = z.infer<typeof deviceHealthRowSchema>;

export const minuteAggregateRowsSchema = z.array(minuteAggregateRowSchema, 'expected an array of rows');
export const deviceHealthRowsSchema = z.array(deviceHealthRowSchema, 'expected an array of rows');

/** The row as the table holds it: the row's own columns, nothing else. */
export const encodeMinuteAggregateRow = (a: MinuteAggregate): MinuteAggregateRow => ({
  deviceId: a.deviceId,
  readingType: a.readingType,
  windowEnd: a.windowEnd,
  count: a.count,
  min: a.min,
  max: a.max,
  avg: a.avg,
});

export const encodeDeviceHealthRow = (h: DeviceHealth): DeviceHealthRow => ({
  deviceId: h.deviceId,
  lastActivityTime: h.lastActivityTime,
  online: h.online,
  lastReadings: { ...h.lastReadings },
});

const toAggregate = (r: MinuteAggregateRow): MinuteAggregate => ({
  deviceId: r.deviceId,
  readingType: r.readingType,
  windowEnd: r.windowEnd,
  count: r.count,
  min: r.min,
  max: r.max,
  avg: r.avg,
});
const toHealth = (r: DeviceHealthRow): DeviceHealth => ({
  deviceId: r.deviceId,
  lastActivityTime: r.lastActivityTime,
  online: r.online,
  lastReadings: { ...r.lastReadings },
});

/** Reads one aggregate row (any value: a row of a table, an element of a message); never throws. */
export function decodeMinuteAggregateRow(value: unknown): Result<MinuteAggregate, ValidationIssue[]> {
  const parsed = minuteAggregateRowSchema.safeParse(value);
  return parsed.success ? ok(toAggregate(parsed.data)) : err(toValidationIssues(parsed.error));
}

/** Reads one device-health row; never throws. */
export function decodeDeviceHealthRow(value: unknown): Result<DeviceHealth, ValidationIssue[]> {
  const parsed = deviceHealthRowSchema.safeParse(value);
  return parsed.success ? ok(toHealth(parsed.data)) : err(toValidationIssues(parsed.error));
}

/** Aggregate rows as one JSON body (an export of the table, a message): an array of rows. */
export const encodeMinuteAggregateRows = (rows: readonly MinuteAggregate[]): Uint8Array => encodeJsonBody(rows.map(encodeMinuteAggregateRow));

export const encodeDeviceHealthRows = (rows: readonly DeviceHealth[]): Uint8Array => encodeJsonBody(rows.map(encodeDeviceHealthRow));

/** Reads a body of aggregate rows; an issue names the row and column (`2.avg`); never throws. */
export function decodeMinuteAggregateRows(body: Uint8Array | string): Result<MinuteAggregate[], ValidationIssue[]> {
  const json = decodeJsonBody(body);
  if (!json.ok) return json;
  const parsed = minuteAggregateRowsSchema.safeParse(json.value);
  return parsed.success ? ok(parsed.data.map(toAggregate)) : err(toValidationIssues(parsed.error));
}

/** Reads a body of device-health rows; never throws. */
export function decodeDeviceHealthRows(body: Uint8Array | string): Result<DeviceHealth[], ValidationIssue[]> {
  const json = decodeJsonBody(body);
  if (!json.ok) return json;
  const parsed = deviceHealthRowsSchema.safeParse(json.value);
  return parsed.success ? ok(parsed.data.map(toHealth)) : err(toValidationIssues(parsed.error));
}
