/**
 * How the rules engine treats readings that arrive late or out of order. Event time is the
 * hub's enqueued time (`TelemetryEvent.enqueuedTime`), as in the CFS Stream Analytics job, which
 * has no `TIMESTAMP BY`. The defaults are Stream Analytics' own:
 *
 * - **Late arrival** is measured against the engine's clock, which only `advanceTo(time)` moves
 *   (a replay that never advances the clock never sees a late reading). A reading stamped before
 *   `clock - lateArrivalToleranceMs` (the watermark) is late: `adjust` restamps it to the
 *   watermark, `drop` returns it as a `dropped` outcome with its reason. Default 5 s.
 * - **Out of order** is measured per device against the latest event time that device has shown.
 *   A reading stamped more than `outOfOrderToleranceMs` before it is out of order: `adjust`
 *   restamps it to that bound, `drop` returns it as `dropped`. Within the tolerance, readings are
 *   held and released in time order once the device's time has moved `outOfOrderToleranceMs`
 *   past them (or the watermark has), so rules always see each device's readings in time order;
 *   the price is that much output delay. Default 0 s: no holding, no delay.
 * - Windows and time-driven rules (absence, quiet clears) close at the watermark: a window ending
 *   at `e` is emitted once a later reading of the device arrives or once the watermark is past `e`,
 *   because a reading stamped exactly `e` still belongs to it.
 */
export interface EventTimePolicy {
  readonly lateArrivalToleranceMs: number;
  readonly outOfOrderToleranceMs: number;
  readonly action: 'adjust' | 'drop';
}

export const DEFAULT_EVENT_TIME_POLICY: EventTimePolicy = { lateArrivalToleranceMs: 5_000, outOfOrderToleranceMs: 0, action: 'adjust' };

/** An absent or undefined field takes the default. */
export const eventTimePolicy = (overrides: { readonly [K in keyof EventTimePolicy]?: EventTimePolicy[K] | undefined } = {}): EventTimePolicy => ({
  lateArrivalToleranceMs: overrides.lateArrivalToleranceMs ?? DEFAULT_EVENT_TIME_POLICY.lateArrivalToleranceMs,
  outOfOrderToleranceMs: overrides.outOfOrderToleranceMs ?? DEFAULT_EVENT_TIME_POLICY.outOfOrderToleranceMs,
  action: overrides.action ?? DEFAULT_EVENT_TIME_POLICY.action,
});
