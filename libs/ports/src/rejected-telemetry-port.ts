import type { TelemetryEnvelope } from './telemetry-intake-port.js';

/** A device-to-cloud message stream processing could not use, and why. */
export interface RejectedTelemetry {
  readonly envelope: TelemetryEnvelope;
  readonly reason: string;
  readonly description: string;
}

/** Telemetry has no queue to dead-letter into, so rejects go here: kept, never dropped. */
export interface RejectedTelemetryPort {
  reject(rejected: RejectedTelemetry): Promise<void>;
  list(maxItems: number): Promise<RejectedTelemetry[]>;
}
