/**
 * The event with the highest reading of a minute window (the first such on a tie), as the CFS
 * telemetry job picks it (`TopOne() OVER (ORDER BY Reading DESC)` per device and one-minute
 * tumbling window), with the device rule in force at its time: one row of the CFS
 * `crmiotevents` table that Power BI reads.
 */
export interface WindowPeak {
  readonly eventToken: string;
  /** Epoch ms: the event's enqueued time. */
  readonly time: number;
  /** The rule's threshold and output for this reading type (null when no rule was in force). */
  readonly threshold: number | null;
  readonly ruleOutput: string | null;
}

/**
 * Flow 5: what stream processing writes for the status view: one row per device, reading type
 * and minute, stamped with the window end; with the window's peak event when ingest knows it.
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
  /**
   * The window's highest reading event (`max` is its reading). Written, not read back: a store
   * that keeps the CFS `crmiotevents` table writes it there; queries need not return it.
   */
  readonly peak?: WindowPeak;
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
  /** Optional: the same for several devices at once (one transaction where the store has them); the last row of a device counts. */
  upsertManyDeviceHealth?(rows: readonly DeviceHealth[]): Promise<void>;
  listDeviceHealth(): Promise<DeviceHealth[]>;
}
