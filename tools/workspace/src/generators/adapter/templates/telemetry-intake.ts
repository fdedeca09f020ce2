import { SDK_CLIENT, type Names, type PortTemplate } from './template.js';

/** The event of the stream's client interface, \`<Name>Event\`: one event as the service keeps it in a partition. */
export const telemetryEventSource = (n: Names): string => `/** One event as the service keeps it in a partition of the stream. */
export interface ${n.className}Event {
  /** Grows by one with each event of its partition. */
  readonly sequenceNumber: number;
  /** When the service took the event (epoch ms): the event time stream processing runs on. */
  readonly enqueuedTime: number;
  /** The device the service authenticated when it took the event. */
  readonly deviceId: string;
  readonly body: Uint8Array;
  readonly properties?: Readonly<Record<string, string>>;
}`;

/**
 * The stream's client interface, under \`name\`, over \`telemetryEventSource\`'s event;
 * \`headline\` says what the interface is to its reader.
 */
export const streamClientInterface = (n: Names, name: string, headline: string): string => `/**
 * ${headline}
 * The stream is a set of partitions, each an ordered log of events (the service keeps each
 * device's events in one partition), with a checkpoint per consumer group and partition.
 */
export interface ${name} {
  partitionIds(): Promise<string[]>;
  /** The events after sequence number \`after\`, oldest first, at most \`max\` of them. */
  read(partitionId: string, after: number, max: number): Promise<${n.className}Event[]>;
  /** The sequence number of the partition's newest event; -1 when it is empty. */
  lastSequenceNumber(partitionId: string): Promise<number>;
  /** How far a consumer group has read a partition (a sequence number); undefined before its first checkpoint. */
  readCheckpoint(consumerGroup: string, partitionId: string): Promise<number | undefined>;
  writeCheckpoint(consumerGroup: string, partitionId: string, sequenceNumber: number): Promise<void>;
}`;

/**
 * \`TelemetryIntakePort\` over that interface, named \`client\`: \`<Name>TelemetryIntake\` and its
 * options; with \`partitionsToRead\`, \`TelemetryBatchHandler\`, \`TelemetryEnvelope\`,
 * \`TelemetryIntakePort\`, \`TelemetryPartitionContext\`, \`TelemetrySubscribeOptions\` and
 * \`TelemetrySubscription\` imported.
 */
export const telemetryIntakeSource = (n: Names, client: string): string => `export interface ${n.className}TelemetryIntakeOptions {
  /** The most events handed over in one batch; 100 when not given. */
  readonly maxBatchSize?: number;
  /** How long a reader waits before it looks at a partition with nothing new again; 50 ms when not given. */
  readonly pollMs?: number;
  /** How long it waits before it hands a failed batch over again, or reads again after a failed read; 200 ms when not given. */
  readonly retryMs?: number;
}

/**
 * The telemetry stream on ${n.file} (flow 3): one reader per partition hands its events over in
 * batches, in order; a failed batch is handed over again as it was, and nothing after it comes
 * first. A consumer group without a checkpoint starts at the newest event, as Event Hubs' readers
 * do by default. Checkpoints only move forward: a mark behind the stored one changes nothing.
 * With \`partitions\`, a subscription reads only those, so that readers of one consumer group can
 * split the partitions between them.
 */
export class ${n.className}TelemetryIntake implements TelemetryIntakePort {
  /** One chain of checkpoint writes per consumer group and partition, so that two marks never interleave their read and write. */
  private readonly marks = new Map<string, Promise<void>>();

  constructor(
    private readonly client: ${client},
    private readonly options: ${n.className}TelemetryIntakeOptions = {},
  ) {}

  async subscribe(consumerGroup: string, handler: TelemetryBatchHandler, options: TelemetrySubscribeOptions = {}): Promise<TelemetrySubscription> {
    const byHandler = options.checkpoints === 'by-handler';
    const readers = await Promise.all(
      partitionsToRead(options.partitions, await this.client.partitionIds()).map(async (partitionId) => {
        const newest = await this.client.lastSequenceNumber(partitionId);
        const position = (await this.client.readCheckpoint(consumerGroup, partitionId)) ?? newest;
        const mark = (sequenceNumber: number) => this.mark(consumerGroup, partitionId, sequenceNumber);
        return new PartitionReader(partitionId, position, newest, this.client, this.settings, mark);
      }),
    );
    const running = readers.map((reader) => reader.run(handler, byHandler));
    let closing: Promise<void> | undefined;
    return {
      partitions: () => readers,
      close: () =>
        (closing ??= (async () => {
          for (const reader of readers) reader.stop();
          await Promise.all(running);
        })()),
    };
  }

  private get settings(): Required<${n.className}TelemetryIntakeOptions> {
    return { maxBatchSize: this.options.maxBatchSize ?? 100, pollMs: this.options.pollMs ?? 50, retryMs: this.options.retryMs ?? 200 };
  }

  /** Moves the checkpoint of a consumer group's partition forward to \`sequenceNumber\`, never back. */
  private mark(consumerGroup: string, partitionId: string, sequenceNumber: number): Promise<void> {
    const key = \`\${consumerGroup}\\u0000\${partitionId}\`;
    const next = (this.marks.get(key) ?? Promise.resolve()).then(async () => {
      const stored = await this.client.readCheckpoint(consumerGroup, partitionId);
      if (stored === undefined || sequenceNumber > stored) await this.client.writeCheckpoint(consumerGroup, partitionId, sequenceNumber);
    });
    this.marks.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  }
}

class PartitionReader implements TelemetryPartitionContext {
  private stopped = false;
  /** The highest sequence number handed over to the handler. */
  private handedThrough: number;
  private wake: (() => void) | undefined;

  constructor(
    readonly partitionId: string,
    private position: number,
    private newest: number,
    private readonly client: ${client},
    private readonly settings: Required<${n.className}TelemetryIntakeOptions>,
    private readonly mark: (sequenceNumber: number) => Promise<void>,
  ) {
    this.handedThrough = position;
  }

  lastEnqueuedSequenceNumber(): number {
    return this.newest;
  }

  async checkpoint(through: TelemetryEnvelope): Promise<void> {
    if (through.partitionId !== this.partitionId || through.sequenceNumber > this.handedThrough)
      throw new Error(
        \`Cannot mark partition \${this.partitionId} through sequence number \${through.sequenceNumber} of partition \${through.partitionId}: it was not handed over from this partition.\`,
      );
    await this.mark(through.sequenceNumber);
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  async run(handler: TelemetryBatchHandler, byHandler: boolean): Promise<void> {
    const { maxBatchSize, pollMs, retryMs } = this.settings;
    let batch: TelemetryEnvelope[] = [];
    while (!this.stopped) {
      if (batch.length === 0) {
        try {
          batch = (await this.client.read(this.partitionId, this.position, maxBatchSize)).map((e) => this.envelopeOf(e));
          this.newest = Math.max(this.newest, await this.client.lastSequenceNumber(this.partitionId));
        } catch {
          await this.pause(retryMs);
          continue;
        }
        if (batch.length === 0) {
          await this.pause(pollMs);
          continue;
        }
      }
      const last = batch.at(-1)!;
      this.handedThrough = Math.max(this.handedThrough, last.sequenceNumber);
      try {
        await handler(batch, this);
      } catch {
        // The same batch again after a pause, and nothing after it first.
        await this.pause(retryMs);
        continue;
      }
      this.position = last.sequenceNumber;
      batch = [];
      // A failed checkpoint is made good by the next batch's; the events are handed over again only after a restart.
      if (!byHandler) await this.checkpoint(last).catch(() => undefined);
    }
  }

  private envelopeOf(event: ${n.className}Event): TelemetryEnvelope {
    return {
      body: event.body,
      connectionDeviceId: event.deviceId,
      enqueuedTime: event.enqueuedTime,
      partitionId: this.partitionId,
      sequenceNumber: event.sequenceNumber,
      ...(event.properties === undefined ? {} : { properties: event.properties }),
    };
  }

  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}`;

/** `TelemetryIntakePort` over a partitioned log client: readers per partition, batches, retries and checkpoints kept by the adapter. */
export const telemetryIntakeTemplate: PortTemplate = {
  portInterface: 'TelemetryIntakePort',
  suite: 'telemetryIntakeConformance',
  fileSuffix: 'telemetry-intake',
  classSuffix: 'TelemetryIntake',
  testClient: 'arrays, one per partition',
  summary: 'the telemetry stream read per consumer group, in order per partition, from checkpoints (`TelemetryIntakePort`)',
  source: (n) => `import {
  partitionsToRead,
  type TelemetryBatchHandler,
  type TelemetryEnvelope,
  type TelemetryIntakePort,
  type TelemetryPartitionContext,
  type TelemetrySubscribeOptions,
  type TelemetrySubscription,
} from '@fieldlink/ports';

${telemetryEventSource(n)}

${streamClientInterface(n, `${n.className}Client`, SDK_CLIENT)}

${telemetryIntakeSource(n, `${n.className}Client`)}
`,
  test: (n) => `import { telemetryIntakeConformance } from '@fieldlink/ports/testing';
import { ${n.className}TelemetryIntake, type ${n.className}Client, type ${n.className}Event } from './${n.file}-telemetry-intake.js';

/** The service kept in memory: four partitions as arrays, each device's events in the partition its id hashes to. */
class MemoryStream implements ${n.className}Client {
  private readonly partitions: ${n.className}Event[][] = [[], [], [], []];
  private readonly checkpoints = new Map<string, number>();

  /** What a device's send does on the service. */
  append(deviceId: string, body: Uint8Array, properties?: Readonly<Record<string, string>>): void {
    let hash = 0;
    for (const char of deviceId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
    const log = this.partitions[hash % this.partitions.length]!;
    log.push({ sequenceNumber: log.length, enqueuedTime: Date.now(), deviceId, body, ...(properties === undefined ? {} : { properties }) });
  }

  async partitionIds(): Promise<string[]> {
    return this.partitions.map((_, i) => String(i));
  }

  async read(partitionId: string, after: number, max: number): Promise<${n.className}Event[]> {
    return this.log(partitionId).slice(after + 1, after + 1 + max);
  }

  async lastSequenceNumber(partitionId: string): Promise<number> {
    return this.log(partitionId).length - 1;
  }

  async readCheckpoint(consumerGroup: string, partitionId: string): Promise<number | undefined> {
    return this.checkpoints.get(\`\${consumerGroup}/\${partitionId}\`);
  }

  async writeCheckpoint(consumerGroup: string, partitionId: string, sequenceNumber: number): Promise<void> {
    this.checkpoints.set(\`\${consumerGroup}/\${partitionId}\`, sequenceNumber);
  }

  private log(partitionId: string): ${n.className}Event[] {
    const log = this.partitions[Number(partitionId)];
    if (log === undefined) throw new Error(\`No partition '\${partitionId}'.\`);
    return log;
  }
}

telemetryIntakeConformance('${n.className}TelemetryIntake', async () => {
  const stream = new MemoryStream();
  return {
    intake: new ${n.className}TelemetryIntake(stream, { pollMs: 10, retryMs: 20 }),
    devices: { send: async (deviceId, body, properties) => stream.append(deviceId, body, properties) },
    consumerGroups: ['rules', 'telemetry'],
    dispose: async () => undefined,
  };
});
`,
};
