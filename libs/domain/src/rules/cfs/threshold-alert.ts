/** A notable event raised by a threshold rule: the fields of one CFS alerts-queue element. */
export interface ThresholdAlert {
  readonly deviceId: string;
  readonly readingType: string;
  readonly reading: number;
  readonly eventToken: string;
  readonly threshold: number;
  readonly ruleOutput: string;
  /** The hub's enqueued time of the reading, epoch milliseconds. */
  readonly time: number;
}
