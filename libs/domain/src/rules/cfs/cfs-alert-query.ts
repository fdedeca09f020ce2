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

/**
 * The same memory behind any layout: a stream processor holding a million devices keeps it in
 * compact arrays rather than a map of string keys (see `CfsAlertQuery.evaluateWith`).
 */
export interface CfsSuppressionMemory {
  /** When this device last sent this reading of this type over its threshold (undefined: not remembered). */
  lastOver(deviceId: string, readingType: string, reading: number): number | undefined;
  rememberOver(deviceId: string, readingType: string, reading: number, time: number): void;
}

/** The key of `CfsAlertQueryState.lastAlertAt`: device, reading type and reading, separated by NUL. */
export const cfsSuppressionKey = (deviceId: string, readingType: string, reading: number): string => `${deviceId}\u0000${readingType}\u0000${reading}`;

/** `CfsAlertQueryState` seen as a `CfsSuppressionMemory`. */
class MapSuppressionMemory implements CfsSuppressionMemory {
  constructor(private readonly lastAlertAt: Map<string, number>) {}
  lastOver(deviceId: string, readingType: string, reading: number): number | undefined {
    return this.lastAlertAt.get(cfsSuppressionKey(deviceId, readingType, reading));
  }
  rememberOver(deviceId: string, readingType: string, reading: number, time: number): void {
    this.lastAlertAt.set(cfsSuppressionKey(deviceId, readingType, reading), time);
  }
}

/** What a reading that raises nothing gives: one shared, frozen empty list. */
const NOTHING_RAISED: readonly ThresholdAlert[] = Object.freeze([]);

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

  evaluate(state: CfsAlertQueryState, event: TelemetryEvent, deviceType: string): readonly ThresholdAlert[] {
    return this.evaluateWith(new MapSuppressionMemory(state.lastAlertAt), event, deviceType);
  }

  /** The same query over a suppression memory kept in another layout. */
  evaluateWith(memory: CfsSuppressionMemory, event: TelemetryEvent, deviceType: string): readonly ThresholdAlert[] {
    const rules = this.rulesByType.get(deviceType);
    if (rules === undefined) return NOTHING_RAISED;
    // Made at the first alert: most readings raise none, and ingest evaluates every one.
    let alerts: ThresholdAlert[] | undefined;
    for (const rule of rules) {
      const reading = event.readings[rule.readingType];
      if (reading === undefined || !(reading > rule.threshold)) continue;
      const previous = memory.lastOver(event.deviceId, rule.readingType, reading);
      memory.rememberOver(event.deviceId, rule.readingType, reading, event.enqueuedTime);
      if (previous !== undefined && event.enqueuedTime - previous < CFS_SUPPRESSION_MS) continue;
      (alerts ??= []).push({
        deviceId: event.deviceId,
        readingType: rule.readingType,
        reading,
        eventToken: event.eventToken,
        threshold: rule.threshold,
        ruleOutput: rule.ruleOutput,
        time: event.enqueuedTime,
      });
    }
    return alerts ?? NOTHING_RAISED;
  }

  /** Forgets partitions whose last event is older than the suppression window: they can no longer suppress. */
  prune(state: CfsAlertQueryState, now: number): void {
    for (const [key, at] of state.lastAlertAt) if (now - at >= CFS_SUPPRESSION_MS) state.lastAlertAt.delete(key);
  }
}
