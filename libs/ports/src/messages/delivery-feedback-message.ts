import { err, ok, type DeliveryFeedbackStatus, type Result, type ValidationIssue } from '@fieldlink/domain';
import { z } from 'zod';
import type { DeliveryFeedback } from '../cloud-to-device-port.js';
import { decodeJsonBody, encodeJsonBody } from '../codec/json-body.js';
import { toValidationIssues } from '../codec/zod-issues.js';

const STATUSES = ['Success', 'Expired', 'DeliveryCountExceeded', 'Rejected', 'Purged'] as const satisfies readonly DeliveryFeedbackStatus[];

/**
 * One record of an IoT Hub feedback message (the body of a message on the service's
 * `/messages/servicebound/feedback` endpoint is a JSON array of these).
 */
export const deliveryFeedbackRecordSchema = z.looseObject({
  // Bounded as the hub bounds them (128), so an oversized id is refused by name.
  originalMessageId: z.string().min(1, 'expected the original message id').max(128, 'expected at most 128 characters'),
  deviceId: z.string().min(1, 'expected a device id').max(128, 'expected at most 128 characters'),
  statusCode: z.enum(STATUSES, `expected one of ${STATUSES.join(', ')}`),
  description: z.string().optional(),
  deviceGenerationId: z.string().optional(),
  enqueuedTimeUtc: z.iso.datetime({ offset: true, message: 'expected an ISO 8601 date-time' }),
});
export type DeliveryFeedbackRecord = z.infer<typeof deliveryFeedbackRecordSchema>;

export const deliveryFeedbackMessageSchema = z.array(deliveryFeedbackRecordSchema);

/** Reads a feedback message body; never throws. */
export function decodeDeliveryFeedback(body: Uint8Array | string): Result<DeliveryFeedback[], ValidationIssue[]> {
  const json = decodeJsonBody(body);
  if (!json.ok) return json;
  const parsed = deliveryFeedbackMessageSchema.safeParse(json.value);
  if (!parsed.success) return err(toValidationIssues(parsed.error));
  return ok(
    parsed.data.map((r) => ({
      originalMessageId: r.originalMessageId,
      deviceId: r.deviceId,
      status: r.statusCode,
      ...(r.description === undefined ? {} : { description: r.description }),
      enqueuedTime: Date.parse(r.enqueuedTimeUtc),
    })),
  );
}

export const toDeliveryFeedbackRecord = (f: DeliveryFeedback): DeliveryFeedbackRecord => ({
  originalMessageId: f.originalMessageId,
  deviceId: f.deviceId,
  statusCode: f.status,
  description: f.description ?? f.status,
  enqueuedTimeUtc: new Date(f.enqueuedTime).toISOString(),
});

/** A feedback message body as the hub writes it. */
export const encodeDeliveryFeedback = (feedback: readonly DeliveryFeedback[]): Uint8Array => encodeJsonBody(feedback.map(toDeliveryFeedbackRecord));
