import type { RejectedTelemetry, RejectedTelemetryPort } from '@fieldlink/ports';

/** Rejected telemetry, kept in process (bounded: the oldest go first once `capacity` is reached). */
export class InMemoryRejectedTelemetry implements RejectedTelemetryPort {
  private readonly items: RejectedTelemetry[] = [];

  constructor(private readonly capacity = 10_000) {}

  async reject(rejected: RejectedTelemetry): Promise<void> {
    this.items.push(structuredClone(rejected));
    if (this.items.length > this.capacity) this.items.shift();
  }

  /** The most recent `maxItems`, oldest first. */
  async list(maxItems: number): Promise<RejectedTelemetry[]> {
    return this.items.slice(-maxItems).map((r) => structuredClone(r));
  }
}
