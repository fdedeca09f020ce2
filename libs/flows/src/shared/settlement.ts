// Shared by the queue-driven flows (7–9, 13–15): complete, abandon or dead-letter a message.
import type { DeadLetterDetails } from '@fieldlink/ports';

/**
 * What a flow decided about one queue message: complete it (its effects are stored), abandon it
 * (a transient failure: it comes back), or dead-letter it (it can never succeed, and says why).
 */
export type Settlement =
  { readonly kind: 'complete' } | { readonly kind: 'abandon'; readonly error: string } | ({ readonly kind: 'deadLetter' } & DeadLetterDetails);

export const complete: Settlement = { kind: 'complete' };
export const abandon = (error: string): Settlement => ({ kind: 'abandon', error });
export const deadLetter = (reason: string, description: string): Settlement => ({ kind: 'deadLetter', reason, description });
