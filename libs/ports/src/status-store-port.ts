/**
 * Flow 5: what stream processing writes for the status view. The per-minute aggregates are the
 * CFS `crmiotevents` table that Power BI reads: one row per device, reading type and minute,
 * stamped with the window end.
 */
export interface MinuteAggregate {
  readonly deviceId: string;
  readonly readingType: string;
  /** Epoch ms of the window end (a whole minute). */
  readonly windowEnd: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly avg: number;
}

export interface DeviceHealth {
  readonly deviceId: string;
  /** Epoch ms of the last message from the device. */
  readonly lastActivityTime: number;
  readonly online: boolean;
  readonly lastReadings: Readonly<Record<string, number>>;
}

export interface StatusStorePort {
  /** Upserts by (deviceId, readingType, windowEnd): writing a row twice leaves one row. */
  writeAggregates(rows: readonly MinuteAggregate[]): Promise<void>;
  /** Rows of a device with windowEnd in (from, to], oldest first. */
  queryAggregates(deviceId: string, from: number, to: number): Promise<MinuteAggregate[]>;
  upsertDeviceHealth(health: DeviceHealth): Promise<void>;
  listDeviceHealth(): Promise<DeviceHealth[]>;
}
