/**
 * One device-to-cloud message as the hub hands it to stream processing (flow 3): the raw body,
 * the device the hub authenticated, and the hub's enqueued time (epoch ms), which is event time.
 */
export interface TelemetryEnvelope {
  readonly body: Uint8Array;
  readonly connectionDeviceId: string;
  readonly enqueuedTime: number;
  readonly partitionId: string;
  readonly sequenceNumber: number;
  readonly properties?: Readonly<Record<string, string>>;
}

/** Called with a batch of one partition, in order; when it resolves, the batch is checkpointed. */
export type TelemetryBatchHandler = (batch: readonly TelemetryEnvelope[]) => Promise<void>;

export interface TelemetrySubscription {
  close(): Promise<void>;
}

/** Flow 3: the telemetry stream, partitioned by device, read by one consumer group. */
export interface TelemetryIntakePort {
  subscribe(consumerGroup: string, handler: TelemetryBatchHandler): Promise<TelemetrySubscription>;
}

/** Flows 1–2, the device's side: send one device-to-cloud message. */
export interface DeviceTelemetryPort {
  send(deviceId: string, body: Uint8Array, properties?: Readonly<Record<string, string>>): Promise<void>;
}
