import { err, ok, type Result } from '@fieldlink/domain';
import { fleetError, type FleetError } from './fleet-error.js';
import type { ThermostatFleet } from './thermostat-fleet.js';

export interface FleetLoadOptions {
  /** How many thermostats play the load (added as `<prefix>-1` … `<prefix>-N`). */
  readonly devices: number;
  /** Messages per second, all devices together. */
  readonly messagesPerSecond: number;
  /** How long to send; the run is always bounded (at most one hour). */
  readonly durationMs: number;
  readonly prefix?: string;
  /** Leave the load thermostats in the fleet afterwards (default: remove them). */
  readonly keepDevices?: boolean;
  readonly signal?: AbortSignal;
  /** Called about once a second with the progress so far. */
  readonly onProgress?: (progress: FleetLoadSummary) => void;
}

export interface FleetLoadSummary {
  readonly devices: number;
  readonly sent: number;
  readonly failed: number;
  readonly elapsedMs: number;
  /** Messages per second actually sent. */
  readonly achievedPerSecond: number;
}

const MAX_DURATION_MS = 60 * 60 * 1000;
const PACE_MS = 10;
/** Readings sent at once, at most: a burst of more waits for these before the next. */
const MAX_AT_ONCE = 1_000;

/** Validates load options; each problem names the option and what was expected. */
export function checkFleetLoadOptions(options: FleetLoadOptions): Result<FleetLoadOptions, FleetError> {
  if (!Number.isInteger(options.devices) || options.devices < 1 || options.devices > 100_000)
    return err(fleetError('InvalidValue', 'devices', 'expected a whole number from 1 to 100000'));
  if (!Number.isFinite(options.messagesPerSecond) || options.messagesPerSecond <= 0 || options.messagesPerSecond > 1_000_000)
    return err(fleetError('InvalidValue', 'messagesPerSecond', 'expected a number above 0 and at most 1000000'));
  if (!Number.isFinite(options.durationMs) || options.durationMs <= 0 || options.durationMs > MAX_DURATION_MS)
    return err(fleetError('InvalidValue', 'durationMs', `expected a number above 0 and at most ${MAX_DURATION_MS}`));
  return ok(options);
}

/**
 * The headless load mode: N thermostats send R messages per second in total, round robin, paced
 * against the clock (open loop: a slow hub shows as a lower achieved rate, not as a pile-up), for
 * a bounded time. The readings due at a pace step are sent at once, one per device at a time.
 */
export async function runFleetLoad(fleet: ThermostatFleet, options: FleetLoadOptions): Promise<Result<FleetLoadSummary, FleetError>> {
  const checked = checkFleetLoadOptions(options);
  if (!checked.ok) return checked;
  const prefix = options.prefix ?? 'load';
  const ids = Array.from({ length: options.devices }, (_, i) => `${prefix}-${i + 1}`);
  for (const id of ids) {
    const added = await fleet.addDevice(id);
    if (!added.ok) return err(added.error);
  }
  const started = performance.now();
  let sent = 0;
  let failed = 0;
  let next = 0;
  let lastProgress = started;
  const summary = (): FleetLoadSummary => {
    const elapsedMs = performance.now() - started;
    return { devices: ids.length, sent, failed, elapsedMs, achievedPerSecond: elapsedMs > 0 ? (sent * 1000) / elapsedMs : 0 };
  };
  try {
    while (!options.signal?.aborted) {
      const elapsed = performance.now() - started;
      if (elapsed >= options.durationMs) break;
      const due = Math.floor((elapsed * options.messagesPerSecond) / 1000) - sent - failed;
      // The readings due go out at once, as devices send independently, at most one per device at a
      // time (a device's readings stay in order): a hub that writes what is sent together in one go
      // (the SQLite hub: the sends of one turn in one transaction) takes them at its own pace, not
      // one round trip at a time. The deadline holds inside a catch-up burst too: a hub slower than
      // the asked rate shortens the burst, it never stretches the run.
      for (let left = due; left > 0 && !options.signal?.aborted && performance.now() - started < options.durationMs;) {
        const atOnce = Math.min(left, ids.length, MAX_AT_ONCE);
        const results = await Promise.all(
          Array.from({ length: atOnce }, () => {
            const deviceId = ids[next]!;
            next = (next + 1) % ids.length;
            return fleet.sendReading(deviceId);
          }),
        );
        for (const result of results) {
          if (result.ok) sent++;
          else failed++;
        }
        left -= atOnce;
      }
      if (options.onProgress !== undefined && performance.now() - lastProgress >= 1000) {
        lastProgress = performance.now();
        options.onProgress(summary());
      }
      await new Promise((resolve) => setTimeout(resolve, PACE_MS));
    }
    return ok(summary());
  } finally {
    if (options.keepDevices !== true) for (const id of ids) await fleet.removeDevice(id);
  }
}
