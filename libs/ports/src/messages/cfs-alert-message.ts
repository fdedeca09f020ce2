import { err, ok, type Result, type ThresholdAlert, type ValidationIssue } from '@fieldlink/domain';
import { z } from 'zod';
import { decodeJsonBody, encodeJsonBody } from '../codec/json-body.js';
import { rawJsonArrayElements, withCanonicalKeys } from '../codec/raw-json.js';
import { toValidationIssues } from '../codec/zod-issues.js';

/**
 * Flow 6: one element of an alerts-queue message as the CFS Stream Analytics job writes it. The
 * message body is a JSON array of these. Column names are read in any case: at compatibility
 * level 1.0 Stream Analytics lower-cases its output columns, later levels keep the case the query
 * gives them (`DeviceId`, `ReadingType`, ...); either way the element decodes to these names.
 */
// Strings are bounded (128, the hub's device id and our event token limit) so an oversized field
// is refused by name instead of reaching the CRM record.
const bounded = z.string().max(128, 'expected at most 128 characters');

export const cfsAlertElementSchema = z.looseObject({
  deviceid: bounded.min(1, 'expected a device id'),
  readingtype: bounded.min(1, 'expected a reading type'),
  reading: z.number().refine(Number.isFinite, 'expected a finite number'),
  eventtoken: bounded.min(1, 'expected an event token'),
  threshold: z.number().refine(Number.isFinite, 'expected a finite number'),
  ruleoutput: bounded,
  time: z.iso.datetime({ offset: true, message: 'expected an ISO 8601 date-time' }),
});
export type CfsAlertElement = z.infer<typeof cfsAlertElementSchema>;

export const cfsAlertMessageSchema = z.array(cfsAlertElementSchema).min(1, 'expected at least one alert');

const ELEMENT_NAMES = new Map(Object.keys(cfsAlertElementSchema.shape).map((name) => [name.toLowerCase(), name]));

/** A decoded element: the typed alert, the element with its names in lower case, and its text as it came. */
export interface DecodedCfsAlert {
  readonly alert: ThresholdAlert;
  readonly element: CfsAlertElement;
  /**
   * The element's JSON text as received, without the whitespace between tokens: what the CFS
   * Logic App stores as `msdyn_alertdata` (its names in their case, `86.0` still `86.0`).
   */
  readonly text: string;
}

export function toCfsAlertElement(alert: ThresholdAlert): CfsAlertElement {
  return {
    deviceid: alert.deviceId,
    readingtype: alert.readingType,
    reading: alert.reading,
    eventtoken: alert.eventToken,
    threshold: alert.threshold,
    ruleoutput: alert.ruleOutput,
    time: new Date(alert.time).toISOString(),
  };
}

export const encodeCfsAlertMessage = (alerts: readonly ThresholdAlert[]): Uint8Array => encodeJsonBody(alerts.map(toCfsAlertElement));

export function decodeCfsAlertMessage(body: Uint8Array | string): Result<DecodedCfsAlert[], ValidationIssue[]> {
  const json = decodeJsonBody(body);
  if (!json.ok) return json;
  const issues: ValidationIssue[] = [];
  const named = Array.isArray(json.value)
    ? json.value.map((item: unknown, index) => {
        if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
        const { value, clashes } = withCanonicalKeys(item as Record<string, unknown>, ELEMENT_NAMES);
        for (const clash of clashes) issues.push({ path: `${index}`, message: `names ${clash} twice, in different case` });
        return value;
      })
    : json.value;
  if (issues.length > 0) return err(issues);
  const parsed = cfsAlertMessageSchema.safeParse(named);
  if (!parsed.success) return err(toValidationIssues(parsed.error));
  const texts = rawJsonArrayElements(typeof body === 'string' ? body : new TextDecoder().decode(body)) ?? [];
  return ok(
    parsed.data.map((element, index) => ({
      element,
      text: texts[index] ?? JSON.stringify(element),
      alert: {
        deviceId: element.deviceid,
        readingType: element.readingtype,
        reading: element.reading,
        eventToken: element.eventtoken,
        threshold: element.threshold,
        ruleOutput: element.ruleoutput,
        time: Date.parse(element.time),
      },
    })),
  );
}
