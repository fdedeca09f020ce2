/**
 * The cloud-to-device message ids a device handled lately, with what it answered, so a message
 * that comes again is settled the same way without being applied or answered again. The hub
 * delivers at least once, and the cloud may send a command twice under the same id (when its
 * status write failed after the send). Bounded: the oldest id is forgotten first; the default
 * keeps twice the hub's 50 pending messages per device.
 */
export class HandledMessages<T> {
  private readonly handled = new Map<string, T>();

  constructor(readonly capacity = 100) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity: expected a positive integer, got ${capacity}`);
  }

  /** What was answered to `messageId`, if it was handled and not yet forgotten. */
  get(messageId: string): T | undefined {
    return this.handled.get(messageId);
  }

  remember(messageId: string, answer: T): void {
    this.handled.delete(messageId);
    this.handled.set(messageId, answer);
    if (this.handled.size > this.capacity) this.handled.delete(this.handled.keys().next().value!);
  }

  get size(): number {
    return this.handled.size;
  }
}
