import type { RejectedTelemetry, RejectedTelemetryPort } from '@fieldlink/ports';

/** Rejected telemetry, kept in process (bounded: the oldest go first once `capacity` is reached). */
export class InMemoryRejectedTelemetry implements RejectedTelemetryPort {
  private readonly items: RejectedTelemetry[] = [];

  constructor(private readonly capacity = 10_000) {}

  async reject(rejected: RejectedTelemetry): Promise<void> {
    this.items.push(rejected);
    if (this.items.length > this.capacity) this.items.shift();
  }

  async list(maxItems: number): Promise<RejectedTelemetry[]> {
    return this.items.slice(-maxItems);
  }
}
