import type { TelemetryEvent } from '../../telemetry/telemetry-event.js';
import type { CfsThresholdRule } from './cfs-device-rules.js';
import type { ThresholdAlert } from './threshold-alert.js';

/** How far back the CFS query's `LAG ... LIMIT DURATION(minute, 1)` looks. */
export const CFS_SUPPRESSION_MS = 60_000;

/**
 * The per-device memory of the CFS query: when each (device, reading type, reading) last
 * exceeded its threshold. Small and plain, so it can be serialised and restored.
 */
export interface CfsAlertQueryState {
  readonly lastAlertAt: Map<string, number>;
}

export const emptyCfsAlertQueryState = (): CfsAlertQueryState => ({ lastAlertAt: new Map() });

const partitionKey = (deviceId: string, readingType: string, reading: number): string => `${deviceId}\u0000${readingType}\u0000${reading}`;

/**
 * The CFS Stream Analytics alert query: every reading above its device type's threshold becomes
 * an alert, unless the same device sent the same reading of the same type less than one minute
 * earlier (the previous over-threshold event of the partition is within the duration).
 */
export class CfsAlertQuery {
  private readonly rulesByType = new Map<string, CfsThresholdRule[]>();

  constructor(rules: readonly CfsThresholdRule[]) {
    for (const rule of rules) {
      const list = this.rulesByType.get(rule.deviceType) ?? [];
      list.push(rule);
      this.rulesByType.set(rule.deviceType, list);
    }
  }

  evaluate(state: CfsAlertQueryState, event: TelemetryEvent, deviceType: string): ThresholdAlert[] {
    const rules = this.rulesByType.get(deviceType);
    if (rules === undefined) return [];
    const alerts: ThresholdAlert[] = [];
    for (const rule of rules) {
      const reading = event.readings[rule.readingType];
      if (reading === undefined || !(reading > rule.threshold)) continue;
      const key = partitionKey(event.deviceId, rule.readingType, reading);
      const previous = state.lastAlertAt.get(key);
      state.lastAlertAt.set(key, event.enqueuedTime);
      if (previous !== undefined && event.enqueuedTime - previous < CFS_SUPPRESSION_MS) continue;
      alerts.push({
        deviceId: event.deviceId,
        readingType: rule.readingType,
        reading,
        eventToken: event.eventToken,
        threshold: rule.threshold,
        ruleOutput: rule.ruleOutput,
        time: event.enqueuedTime,
      });
    }
    return alerts;
  }

  /** Forgets partitions whose last event is older than the suppression window: they can no longer suppress. */
  prune(state: CfsAlertQueryState, now: number): void {
    for (const [key, at] of state.lastAlertAt) if (now - at >= CFS_SUPPRESSION_MS) state.lastAlertAt.delete(key);
  }
}
