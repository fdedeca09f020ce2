/**
 * One device-to-cloud message as the rules see it: the readings it carries (by reading type,
 * e.g. `Temperature`), the device's own event token, and the hub's enqueued time in epoch
 * milliseconds, which is the event time CFS uses.
 */
export interface TelemetryEvent {
  readonly deviceId: string;
  readonly eventToken: string;
  readonly enqueuedTime: number;
  readonly readings: Readonly<Record<string, number>>;
}
