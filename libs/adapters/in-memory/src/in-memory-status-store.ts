import type { DeviceHealth, MinuteAggregate, StatusStorePort } from '@fieldlink/ports';

/**
 * The status view's store in process: per-minute aggregates keyed by (device, reading type,
 * window end), so a replayed window replaces its row, and the latest health per device.
 *
 * The aggregates are kept by device, then reading type, in a series each: its rows' numbers one
 * after the other in a typed array, in order of window end (`AggregateSeries`), so that a row
 * costs the collector nothing. Kept as an object a row, a minute's new rows at 10,000 devices were
 * 20,000 rows of several objects each (the row, its peak, a box per number), all copied to the old
 * generation; on worker threads the main thread writes every commit's rows here, and its
 * scavenges held up the end of a pass (docs/performance.md, "Thirty-fourth round").
 * A row's peak (`MinuteAggregate.peak`) is not kept: queries do not return it, and this store
 * keeps no table of events to write it to.
 *
 * Health rows are this store's own copies, updated in place when written again (a device's
 * health at every commit), their numbers declared as doubles before anything is stored in them
 * (`KeptHealth`), so that V8 gives each field a box of the row's own and writes a new value into
 * it: a field that first held a small integer holds any number as a pointer, and each value
 * written made a new heap number, which the collector then copied to the old generation.
 */
export class InMemoryStatusStore implements StatusStorePort {
  /** deviceId → readingType → its rows. */
  private readonly aggregates = new Map<string, Map<string, AggregateSeries>>();
  private readonly health = new Map<string, KeptHealth>();

  async writeAggregates(rows: readonly MinuteAggregate[]): Promise<void> {
    for (const row of rows) {
      let byType = this.aggregates.get(row.deviceId);
      if (byType === undefined) this.aggregates.set(row.deviceId, (byType = new Map()));
      let series = byType.get(row.readingType);
      if (series === undefined) byType.set(row.readingType, (series = new AggregateSeries()));
      series.write(row);
    }
  }

  async queryAggregates(deviceId: string, from: number, to: number): Promise<MinuteAggregate[]> {
    const rows: MinuteAggregate[] = [];
    for (const [readingType, series] of this.aggregates.get(deviceId) ?? []) series.collect(deviceId, readingType, from, to, rows);
    return rows.sort((a, b) => a.windowEnd - b.windowEnd || a.readingType.localeCompare(b.readingType));
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

/** Numbers of a row in `AggregateSeries`: window end, count, min, max, avg. */
const ROW = 5;

/**
 * One device's rows of one reading type, in order of window end: `ROW` numbers a row in one
 * array, which doubles when full. A row written again (a minute still growing, a window
 * replayed) is found from the end, where a commit's rows almost always are, or by halving.
 */
class AggregateSeries {
  private numbers = new Float64Array(ROW * 4);
  private length = 0;

  write(row: MinuteAggregate): void {
    const at = this.place(row.windowEnd);
    if (at < 0) {
      if (this.length * ROW === this.numbers.length) this.grow();
      const from = -at - 1;
      if (from < this.length) this.numbers.copyWithin((from + 1) * ROW, from * ROW, this.length * ROW);
      this.length++;
      this.set(from, row);
    } else this.set(at, row);
  }

  /** Pushes the rows with window end in (from, to] onto `into`. */
  collect(deviceId: string, readingType: string, from: number, to: number, into: MinuteAggregate[]): void {
    const n = this.numbers;
    for (let r = 0, i = 0; r < this.length; r++, i += ROW) {
      const windowEnd = n[i]!;
      if (windowEnd > from && windowEnd <= to)
        into.push({ deviceId, readingType, windowEnd, count: n[i + 1]!, min: n[i + 2]!, max: n[i + 3]!, avg: n[i + 4]! });
    }
  }

  private set(r: number, row: MinuteAggregate): void {
    const n = this.numbers;
    const i = r * ROW;
    n[i] = row.windowEnd;
    n[i + 1] = row.count;
    n[i + 2] = row.min;
    n[i + 3] = row.max;
    n[i + 4] = row.avg;
  }

  /** The row with this window end, or where it goes as -1 - its index. */
  private place(windowEnd: number): number {
    const n = this.numbers;
    let high = this.length - 1;
    if (high < 0 || windowEnd > n[high * ROW]!) return -1 - this.length;
    if (windowEnd === n[high * ROW]) return high;
    let low = 0;
    high--;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const end = n[mid * ROW]!;
      if (end === windowEnd) return mid;
      if (end < windowEnd) low = mid + 1;
      else high = mid - 1;
    }
    return -1 - low;
  }

  private grow(): void {
    const numbers = new Float64Array(this.numbers.length * 2);
    numbers.set(this.numbers);
    this.numbers = numbers;
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
