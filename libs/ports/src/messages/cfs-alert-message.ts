import { err, ok, type Result, type ThresholdAlert, type ValidationIssue } from '@fieldlink/domain';
import { z } from 'zod';
import { decodeJsonBody, encodeJsonBody } from '../codec/json-body.js';
import { toValidationIssues } from '../codec/zod-issues.js';

/**
 * Flow 6: one element of an alerts-queue message as the CFS Stream Analytics job writes it
 * (column names lower-cased by Stream Analytics). The message body is a JSON array of these.
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

/** A decoded element: the typed alert and the element exactly as it came (CFS stores it as alert data). */
export interface DecodedCfsAlert {
  readonly alert: ThresholdAlert;
  readonly element: CfsAlertElement;
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
  const parsed = cfsAlertMessageSchema.safeParse(json.value);
  if (!parsed.success) return err(toValidationIssues(parsed.error));
  return ok(
    parsed.data.map((element) => ({
      element,
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
