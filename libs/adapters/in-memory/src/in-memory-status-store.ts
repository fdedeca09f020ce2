import type { DeviceHealth, MinuteAggregate, StatusStorePort } from '@fieldlink/ports';

/**
 * The status view's store in process: per-minute aggregates keyed by (device, reading type,
 * window end), so a replayed window replaces its row, and the latest health per device.
 */
export class InMemoryStatusStore implements StatusStorePort {
  /** deviceId → `${readingType}\n${windowEnd}` → row; rows are this store's own copies, updated in place. */
  private readonly aggregates = new Map<string, Map<string, { -readonly [K in keyof MinuteAggregate]: MinuteAggregate[K] }>>();
  private readonly health = new Map<string, { -readonly [K in keyof DeviceHealth]: DeviceHealth[K] }>();

  async writeAggregates(rows: readonly MinuteAggregate[]): Promise<void> {
    for (const row of rows) {
      let byKey = this.aggregates.get(row.deviceId);
      if (byKey === undefined) this.aggregates.set(row.deviceId, (byKey = new Map()));
      const key = `${row.readingType}\n${row.windowEnd}`;
      const kept = byKey.get(key);
      // A row written again (a minute still growing) is updated where it is, its peak too: no copy
      // per write for the garbage collector, and nothing of the caller's kept.
      if (kept === undefined) byKey.set(key, row.peak === undefined ? { ...row } : { ...row, peak: { ...row.peak } });
      else {
        const peak = kept.peak;
        Object.assign(kept, row);
        if (peak !== undefined && row.peak !== undefined) kept.peak = Object.assign(peak, row.peak);
        else if (row.peak !== undefined) kept.peak = { ...row.peak };
      }
    }
  }

  async queryAggregates(deviceId: string, from: number, to: number): Promise<MinuteAggregate[]> {
    const rows = [...(this.aggregates.get(deviceId)?.values() ?? [])].filter((r) => r.windowEnd > from && r.windowEnd <= to);
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
    if (kept === undefined) this.health.set(health.deviceId, copyHealth(health));
    else {
      // The row is updated where it is, its readings too: no copy per write for the garbage collector.
      const readings = kept.lastReadings as Record<string, number>;
      for (const readingType of Object.keys(readings)) if (!(readingType in health.lastReadings)) delete readings[readingType];
      Object.assign(readings, health.lastReadings);
      kept.lastActivityTime = health.lastActivityTime;
      kept.online = health.online;
    }
  }

  async listDeviceHealth(): Promise<DeviceHealth[]> {
    return [...this.health.values()].map(copyHealth);
  }
}

/** A health row is flat but for its readings: copied field by field, a fraction of a structured clone's cost, on every batch. */
const copyHealth = (health: DeviceHealth): DeviceHealth => ({ ...health, lastReadings: { ...health.lastReadings } });
