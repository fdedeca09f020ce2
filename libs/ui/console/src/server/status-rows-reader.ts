import { describeIssues, type Result, type ValidationIssue } from '@fieldlink/domain';
import {
  decodeDeviceHealthRow,
  decodeMinuteAggregateRow,
  silentLog,
  type DeviceHealth,
  type LogPort,
  type MinuteAggregate,
  type StatusStorePort,
} from '@fieldlink/ports';

/**
 * The status store's rows as the console reads them (flow 5). A store may be a table that another
 * deployment writes (the CFS `crmiotevents` table Power BI reads), so every row passes the rows'
 * wire schema on its way to the page: a row that does not fit is left out and logged with what is
 * wrong with it (the store keeps it), never drawn half-read.
 */
export class StatusRowsReader {
  constructor(
    private readonly store: StatusStorePort,
    private readonly log: LogPort = silentLog,
  ) {}

  /** The chart's rows: the device's per-minute aggregates with window end in (from, to], oldest first. */
  async aggregates(deviceId: string, from: number, to: number): Promise<MinuteAggregate[]> {
    return this.readable('aggregates', await this.store.queryAggregates(deviceId, from, to), decodeMinuteAggregateRow);
  }

  /** Every device's health row, for the device list. */
  async health(): Promise<DeviceHealth[]> {
    return this.readable('health', await this.store.listDeviceHealth(), decodeDeviceHealthRow);
  }

  private readable<T>(table: string, rows: readonly unknown[], decode: (row: unknown) => Result<T, ValidationIssue[]>): T[] {
    const out: T[] = [];
    for (const row of rows) {
      const decoded = decode(row);
      if (decoded.ok) {
        out.push(decoded.value);
        continue;
      }
      const deviceId =
        typeof row === 'object' && row !== null && typeof (row as { deviceId?: unknown }).deviceId === 'string'
          ? (row as { deviceId: string }).deviceId
          : undefined;
      this.log.warn('console.status-row-unreadable', { table, deviceId, issues: describeIssues(decoded.error) });
    }
    return out;
  }
}
