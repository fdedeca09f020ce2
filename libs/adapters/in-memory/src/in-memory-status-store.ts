import type { DeviceHealth, MinuteAggregate, StatusStorePort, WindowPeak } from '@fieldlink/ports';

/**
 * The status view's store in process: per-minute aggregates keyed by (device, reading type,
 * window end), so a replayed window replaces its row, and the latest health per device.
 *
 * Rows are this store's own copies, updated in place when written again (a minute still growing,
 * a device's health at every commit). Their numbers are fields declared as doubles before anything
 * is stored in them (`KeptAggregate`, `KeptHealth`), so that V8 gives each field a box of the row's
 * own and writes a new value into it: a field that first held a small integer holds any number as
 * a pointer, and each value written made a new heap number, which the collector then copied to the
 * old generation (an aggregate row written again promoted about 77 bytes, now 16 to 28; 20,000
 * rows a second at 10,000 devices).
 *
 * The aggregates are maps within maps (device, then reading type, then window end), not one map
 * per device keyed by a string of reading type and window end: that key was a new string for every
 * row written (the window end turned to text, joined, then flattened to be hashed), which made
 * `writeAggregates` take twice as long and gave the collector three objects a row. On worker
 * threads the main thread writes every commit's rows here, and a commit's last rows hold up the
 * end of a pass (docs/performance.md, "Thirty-second round").
 */
export class InMemoryStatusStore implements StatusStorePort {
  /** deviceId → readingType → windowEnd → row. */
  private readonly aggregates = new Map<string, Map<string, Map<number, KeptAggregate>>>();
  private readonly health = new Map<string, KeptHealth>();

  async writeAggregates(rows: readonly MinuteAggregate[]): Promise<void> {
    for (const row of rows) {
      let byType = this.aggregates.get(row.deviceId);
      if (byType === undefined) this.aggregates.set(row.deviceId, (byType = new Map()));
      let byEnd = byType.get(row.readingType);
      if (byEnd === undefined) byType.set(row.readingType, (byEnd = new Map()));
      const kept = byEnd.get(row.windowEnd);
      if (kept === undefined) byEnd.set(row.windowEnd, new KeptAggregate(row));
      else kept.update(row);
    }
  }

  async queryAggregates(deviceId: string, from: number, to: number): Promise<MinuteAggregate[]> {
    const rows: KeptAggregate[] = [];
    for (const byEnd of this.aggregates.get(deviceId)?.values() ?? [])
      for (const r of byEnd.values()) if (r.windowEnd > from && r.windowEnd <= to) rows.push(r);
    // The peak event is written, not read back (see `MinuteAggregate.peak`).
    return rows
      .sort((a, b) => a.windowEnd - b.windowEnd || a.readingType.localeCompare(b.readingType))
      .map((r) => ({ deviceId: r.deviceId, readingType: r.readingType, windowEnd: r.windowEnd, count: r.count, min: r.min, max: r.max, avg: r.avg }));
  }

  async upsertDeviceHealth(health: DeviceHealth): Promise<void> {
    this.upsertHealth(health);
  }

  /**
   * Each row as `upsertDeviceHealth` writes it, in order (the last of a device counts), in one
   * call: a commit's slice of rows costs one promise, not one per device (ingest writes the health
   * of every device that sent since the last commit, and on worker threads the main thread does).
   */
  async upsertManyDeviceHealth(rows: readonly DeviceHealth[]): Promise<void> {
    for (const health of rows) this.upsertHealth(health);
  }

  private upsertHealth(health: DeviceHealth): void {
    const kept = this.health.get(health.deviceId);
    if (kept === undefined) this.health.set(health.deviceId, new KeptHealth(health));
    else kept.update(health);
  }

  async listDeviceHealth(): Promise<DeviceHealth[]> {
    return [...this.health.values()].map((h) => ({
      deviceId: h.deviceId,
      lastActivityTime: h.lastActivityTime,
      online: h.online,
      lastReadings: { ...h.lastReadings },
    }));
  }
}

/** A window's peak as kept; `time` declared as a double first (see `InMemoryStatusStore`). */
class KeptPeak implements WindowPeak {
  time = Number.NaN;
  eventToken = '';
  threshold: number | null = null;
  ruleOutput: string | null = null;

  constructor(peak: WindowPeak) {
    this.update(peak);
  }

  update(peak: WindowPeak): void {
    this.time = peak.time;
    this.eventToken = peak.eventToken;
    this.threshold = peak.threshold;
    this.ruleOutput = peak.ruleOutput;
  }
}

/** An aggregate row as kept, its numbers declared as doubles first (see `InMemoryStatusStore`). */
class KeptAggregate {
  windowEnd = Number.NaN;
  count = Number.NaN;
  min = Number.NaN;
  max = Number.NaN;
  avg = Number.NaN;
  readonly deviceId: string;
  readonly readingType: string;
  peak: KeptPeak | undefined;

  constructor(row: MinuteAggregate) {
    this.deviceId = row.deviceId;
    this.readingType = row.readingType;
    this.windowEnd = row.windowEnd;
    this.update(row);
  }

  update(row: MinuteAggregate): void {
    this.count = row.count;
    this.min = row.min;
    this.max = row.max;
    this.avg = row.avg;
    const peak = row.peak;
    if (peak === undefined) this.peak = undefined;
    else if (this.peak === undefined) this.peak = new KeptPeak(peak);
    else this.peak.update(peak);
  }
}

/** A device's health as kept: readings added as NaN, then set, so each is a double field too (see `InMemoryStatusStore`). */
class KeptHealth implements DeviceHealth {
  lastActivityTime = Number.NaN;
  readonly deviceId: string;
  online: boolean;
  readonly lastReadings: Record<string, number> = {};

  constructor(health: DeviceHealth) {
    this.deviceId = health.deviceId;
    this.online = health.online;
    this.update(health);
  }

  update(health: DeviceHealth): void {
    this.lastActivityTime = health.lastActivityTime;
    this.online = health.online;
    const readings = this.lastReadings;
    for (const readingType of Object.keys(readings)) if (!(readingType in health.lastReadings)) delete readings[readingType];
    for (const readingType in health.lastReadings) {
      if (!(readingType in readings)) readings[readingType] = Number.NaN;
      readings[readingType] = health.lastReadings[readingType]!;
    }
  }
}
