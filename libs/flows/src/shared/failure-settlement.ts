// Shared by the queue-driven flows (7–9, 13–15): a thrown failure into its settlement.
import { CrmError, DeviceRegistryError } from '@fieldlink/ports';
import { abandon, deadLetter, type Settlement } from './settlement.js';

/**
 * What to do with a queue message whose handling threw. Errors that retrying can fix (throttling,
 * an unavailable service, an unknown error) abandon it, so it comes back and the queue's maximum
 * delivery count bounds the retries; errors that say the input can never succeed dead-letter it
 * with the error's code as the reason.
 */
export function settlementForFailure(error: unknown): Settlement {
  if (error instanceof CrmError) {
    if (error.code === 'NotFound' || error.code === 'Rejected') return deadLetter(`Crm${error.code}`, error.message);
    return abandon(`CRM ${error.code}: ${error.message}`);
  }
  if (error instanceof DeviceRegistryError) {
    if (error.code === 'InvalidDeviceId' || error.code === 'DeviceNotFound') return deadLetter(`Registry${error.code}`, error.message);
    return abandon(`device registry ${error.code}: ${error.message}`);
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
