import { HUB_DEVICE_ID_PATTERN, err, ok, type Result, type TelemetryEvent, type ValidationIssue } from '@fieldlink/domain';
import { z } from 'zod';
import { decodeJsonText, encodeJsonBody, parseJsonText } from '../codec/json-body.js';
import { withCanonicalKeys } from '../codec/raw-json.js';
import { toValidationIssues } from '../codec/zod-issues.js';
import { scanPlainTelemetry } from './telemetry-scan.js';

/** IoT Hub's device-to-cloud message size limit. */
export const D2C_MAX_BYTES = 256 * 1024;

const finite = z.number().refine(Number.isFinite, 'expected a finite number');

/**
 * Flows 1–2: what the thermostat simulator sends,
 * `{"DeviceID":"thermostat-1","Temperature":86.0,"Humidity":41.0,"EventToken":"<guid>"}`.
 * Unknown fields are carried along, as CFS does; every other numeric field is a reading. The names
 * below are read in any case (`deviceid`, `DeviceId`, `temperature`, as Stream Analytics at
 * compatibility level 1.0 writes them lower-cased), and come out spelt as here.
 */
export const telemetryMessageSchema = z.looseObject({
  DeviceID: z.string().regex(HUB_DEVICE_ID_PATTERN, 'expected an IoT Hub device id'),
  EventToken: z.string().min(1, 'expected a non-empty event token').max(128, 'expected at most 128 characters'),
  Temperature: finite.optional(),
  Humidity: finite.optional(),
});
export type TelemetryMessage = z.infer<typeof telemetryMessageSchema>;

const NOT_READINGS = new Set(['DeviceID', 'EventToken', 'EventEnqueuedUtcTime', 'EventProcessedUtcTime', 'PartitionId', 'IoTHub']);
const CANONICAL_NAMES = new Map([...Object.keys(telemetryMessageSchema.shape), ...NOT_READINGS].map((name) => [name.toLowerCase(), name]));

/** Turns a message body plus the hub's enqueued time into the event the rules evaluate. */
export function decodeTelemetry(body: Uint8Array | string, enqueuedTime: number): Result<TelemetryEvent, ValidationIssue[]> {
  if (typeof body !== 'string' && body.byteLength > D2C_MAX_BYTES)
    return err([{ path: 'body', message: `is ${body.byteLength} bytes; IoT Hub accepts at most ${D2C_MAX_BYTES}` }]);
  const text = decodeJsonText(body);
  if (!text.ok) return text;
  // The devices' own form is read from the text as it stands; anything else is parsed and checked.
  const plain = scanPlainTelemetry(text.value, enqueuedTime);
  if (plain !== undefined) return ok(plain);
  const json = parseJsonText(text.value);
  if (!json.ok) return json;
  return telemetryFromJson(json.value, enqueuedTime);
}

export function telemetryFromJson(value: unknown, enqueuedTime: number): Result<TelemetryEvent, ValidationIssue[]> {
  const plain = plainTelemetry(value, enqueuedTime);
  return plain === undefined ? telemetryBySchema(value, enqueuedTime) : ok(plain);
}

/** The same read by the schema alone, names in any case: what `plainTelemetry` must agree with. */
export function telemetryBySchema(value: unknown, enqueuedTime: number): Result<TelemetryEvent, ValidationIssue[]> {
  let named = value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const canonical = withCanonicalKeys(value as Record<string, unknown>, CANONICAL_NAMES);
    if (canonical.clashes.length > 0) return err(canonical.clashes.map((clash) => ({ path: '(root)', message: `names ${clash} twice, in different case` })));
    named = canonical.value;
  }
  const parsed = telemetryMessageSchema.safeParse(named);
  if (!parsed.success) return err(toValidationIssues(parsed.error));
  const readings: Record<string, number> = {};
  for (const [key, v] of Object.entries(parsed.data)) {
    if (!NOT_READINGS.has(key) && typeof v === 'number' && Number.isFinite(v)) readings[key] = v;
  }
  return ok({ deviceId: parsed.data.DeviceID, eventToken: parsed.data.EventToken, enqueuedTime, readings });
}

const CANONICAL_SPELLINGS = new Set(CANONICAL_NAMES.values());

/**
 * The event of a message the schema accepts as it stands: every known name spelt as the schema
 * spells it, each field of the right type. Undefined for anything else, which the schema then
 * reads (and explains). Most messages are such, and checking them by hand skips the schema's
 * copies of the message; `telemetry-message.test.ts` checks both give the same for any object.
 */
function plainTelemetry(value: unknown, enqueuedTime: number): TelemetryEvent | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const message = value as Record<string, unknown>;
  const { DeviceID: deviceId, EventToken: eventToken, Temperature: temperature, Humidity: humidity } = message;
  if (typeof deviceId !== 'string' || !HUB_DEVICE_ID_PATTERN.test(deviceId)) return undefined;
  if (typeof eventToken !== 'string' || eventToken.length < 1 || eventToken.length > 128) return undefined;
  // The schema's order: its own readings first, then the others as they came.
  const readings: Record<string, number> = {};
  if (temperature !== undefined) {
    if (typeof temperature !== 'number' || !Number.isFinite(temperature)) return undefined;
    readings['Temperature'] = temperature;
  }
  if (humidity !== undefined) {
    if (typeof humidity !== 'number' || !Number.isFinite(humidity)) return undefined;
    readings['Humidity'] = humidity;
  }
  // `Object.keys` rather than `for … in`: the same own names in the same order, without the
  // prototype walk and a `hasOwn` per name (about 15 ns of the 90 this check takes per message).
  const keys = Object.keys(message);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (CANONICAL_SPELLINGS.has(key)) continue;
    // A known name in another case: the schema's path renames it (or finds a clash).
    if (CANONICAL_NAMES.has(key.toLowerCase())) return undefined;
    const v = message[key];
    if (typeof v === 'number' && Number.isFinite(v)) readings[key] = v;
  }
  return { deviceId, eventToken, enqueuedTime, readings };
}

export const encodeTelemetry = (message: TelemetryMessage): Uint8Array => encodeJsonBody(message);
