// Shared by the queue-driven flows (7–9, 13–15): a thrown failure into its settlement.
import { FieldlinkError } from '@fieldlink/domain';
import { CrmError, DeviceRegistryError } from '@fieldlink/ports';
import { abandon, deadLetter, type Settlement } from './settlement.js';

/**
 * What to do with a queue message whose handling threw. A `FieldlinkError` that is `permanent`
 * (the input can never succeed: a missing record, refused data, a message too large) dead-letters
 * it at once with the error's code as the reason, whatever the error's class, so an adapter's own
 * class needs no case here; the CRM's and the registry's codes keep their `Crm` / `Registry`
 * prefix. Anything else (throttling, an unavailable service, an unknown error) abandons it, so
 * it comes back and the queue's maximum delivery count bounds the retries.
 */
export function settlementForFailure(error: unknown): Settlement {
  if (error instanceof CrmError) {
    if (error.permanent) return deadLetter(`Crm${error.code}`, error.message);
    return abandon(`CRM ${error.code}: ${error.message}`);
  }
  if (error instanceof DeviceRegistryError) {
    if (error.permanent) return deadLetter(`Registry${error.code}`, error.message);
    return abandon(`device registry ${error.code}: ${error.message}`);
  }
  if (error instanceof FieldlinkError) {
    if (error.permanent) return deadLetter(error.code, error.message);
    return abandon(`${error.name} ${error.code}: ${error.message}`);
  }
  return abandon(error instanceof Error ? error.message : String(error));
}

/** Runs a handler and turns a thrown failure into its settlement, so a flow never throws at its queue. */
export async function settleFailures(handler: () => Promise<Settlement>): Promise<Settlement> {
  try {
    return await handler();
  } catch (e) {
    return settlementForFailure(e);
  }
}
