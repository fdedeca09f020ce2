import type { DeviceHealth, MinuteAggregate, StatusStorePort } from '@fieldlink/ports';

/**
 * The status view's store in process: per-minute aggregates keyed by (device, reading type,
 * window end), so a replayed window replaces its row, and the latest health per device.
 */
export class InMemoryStatusStore implements StatusStorePort {
  /** deviceId → `${readingType}\n${windowEnd}` → row. */
  private readonly aggregates = new Map<string, Map<string, MinuteAggregate>>();
  private readonly health = new Map<string, DeviceHealth>();

  async writeAggregates(rows: readonly MinuteAggregate[]): Promise<void> {
    for (const row of rows) {
      let byKey = this.aggregates.get(row.deviceId);
      if (byKey === undefined) this.aggregates.set(row.deviceId, (byKey = new Map()));
      byKey.set(`${row.readingType}\n${row.windowEnd}`, { ...row });
    }
  }

  async queryAggregates(deviceId: string, from: number, to: number): Promise<MinuteAggregate[]> {
    const rows = [...(this.aggregates.get(deviceId)?.values() ?? [])].filter((r) => r.windowEnd > from && r.windowEnd <= to);
    return rows.sort((a, b) => a.windowEnd - b.windowEnd || a.readingType.localeCompare(b.readingType)).map((r) => ({ ...r }));
  }

  async upsertDeviceHealth(health: DeviceHealth): Promise<void> {
    this.health.set(health.deviceId, copyHealth(health));
  }

  async listDeviceHealth(): Promise<DeviceHealth[]> {
    return [...this.health.values()].map(copyHealth);
  }
}

/** A health row is flat but for its readings: copied field by field, a fraction of a structured clone's cost, on every batch. */
const copyHealth = (health: DeviceHealth): DeviceHealth => ({ ...health, lastReadings: { ...health.lastReadings } });
