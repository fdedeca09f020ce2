import { createHash, randomUUID } from 'node:crypto';
import rhea, { type Message, type Sender } from 'rhea';
import { AmqpEndpoint, type ConnectionGrants, type ManagementReply } from './amqp-endpoint.js';
import type { SharedAccessPolicy } from './shared-access-signature.js';

interface StoredEvent {
  readonly sequenceNumber: number;
  readonly enqueuedTime: number;
  readonly message: Message;
}

interface PartitionReader {
  readonly sender: Sender;
  readonly epoch: number | undefined;
  /** Index of the next event to hand over. */
  next: number;
}

interface StandinHub {
  readonly name: string;
  readonly createdAt: number;
  readonly partitions: StoredEvent[][];
  readonly consumerGroups: Set<string>;
  /** Readers by `consumerGroup/partition`. */
  readonly readers: Map<string, Set<PartitionReader>>;
}

/** The condition Event Hubs detaches a receiver with when a receiver with a higher or equal owner level (epoch) took its partition. */
const LINK_STOLEN = 'amqp:link:stolen';

const PARTITION_PATH = /^([^/]+)\/consumergroups\/([^/]+)\/partitions\/(\d+)$/i;

/**
 * An Event Hubs namespace on loopback, plain AMQP (`UseDevelopmentEmulator=true`), shaped like an
 * IoT hub's Event Hubs-compatible endpoint: devices' messages (appended by the test, as the hub
 * would) land in the partition their device id hashes to, with the hub's annotations
 * (`iothub-connection-device-id`, `iothub-enqueuedtime`) beside the Event Hubs ones
 * (`x-opt-sequence-number`, `x-opt-offset`, `x-opt-enqueued-time`).
 *
 * Kept: SAS put-token on `$cbs`; `$management` READ of hub and partition properties; partition
 * receivers per consumer group with the selector filter on offset, sequence number or enqueued
 * time (`@latest`, `-1` included), link credit, and owner level (epoch): a reader with a higher or
 * equal epoch disconnects the others on its partition and group with `amqp:link:stolen`, and a
 * reader with a lower epoch or none is refused while one with an epoch reads. Not implemented: publishing
 * through AMQP senders (telemetry enters through `appendFromDevice`), retention and expiry,
 * receiver runtime metrics, geo-replication offsets, idempotent publishing, TLS.
 */
export class EventHubsStandin {
  private readonly hubs = new Map<string, StandinHub>();
  private readonly endpoint: AmqpEndpoint;
  private port = 0;
  /** Fault injection (`holdDeliveries`): until when no event is delivered. */
  private heldUntil = 0;
  private heldTimer: NodeJS.Timeout | undefined;

  constructor(private readonly policy: SharedAccessPolicy = { keyName: 'service', key: randomUUID() }) {
    this.endpoint = new AmqpEndpoint(
      { policies: [policy] },
      {
        senderOpened: (sender, grants) => this.onReader(sender, grants),
        receiverOpened: (receiver) =>
          receiver.close({ condition: 'amqp:not-implemented', description: 'Publishing over AMQP is not implemented by this stand-in.' }),
        management: (entityPath, request) => this.onManagement(entityPath, request),
      },
    );
  }

  async start(): Promise<this> {
    this.port = await this.endpoint.start();
    return this;
  }

  stop(): Promise<void> {
    return this.endpoint.stop();
  }

  /** Fault injection: drops every client connection at the socket (see AmqpEndpoint.dropConnections). */
  dropConnections(): number {
    return this.endpoint.dropConnections();
  }

  /** Fault injection: no event reaches a reader for `forMs` (events still enter the hub); then the readers catch up. */
  holdDeliveries(forMs: number): void {
    this.heldUntil = Math.max(this.heldUntil, Date.now() + forMs);
    clearTimeout(this.heldTimer);
    this.heldTimer = setTimeout(() => {
      for (const hub of this.hubs.values())
        for (const [key, readers] of hub.readers) for (const reader of readers) this.pump(hub, Number(key.slice(key.lastIndexOf('/') + 1)), reader);
    }, this.heldUntil - Date.now());
  }

  createHub(name: string, options: { partitionCount?: number; consumerGroups?: readonly string[] } = {}): void {
    const partitionCount = options.partitionCount ?? 4;
    this.hubs.set(name.toLowerCase(), {
      name,
      createdAt: Date.now(),
      partitions: Array.from({ length: partitionCount }, () => []),
      consumerGroups: new Set(['$default', ...(options.consumerGroups ?? [])].map((g) => g.toLowerCase())),
      readers: new Map(),
    });
  }

  /** The Event Hubs-compatible connection string of a hub, as the IoT hub's built-in endpoint shows it. */
  connectionString(hubName: string): string {
    return `Endpoint=sb://127.0.0.1:${this.port};SharedAccessKeyName=${this.policy.keyName};SharedAccessKey=${this.policy.key};EntityPath=${hubName};UseDevelopmentEmulator=true`;
  }

  /** Every event the hub holds, partition by partition in order, with its device, body, properties and enqueued time (for a test's oracle). */
  recordedEvents(
    hubName: string,
  ): Array<{ partitionId: string; sequenceNumber: number; deviceId: string; body: Buffer; properties: Record<string, unknown>; enqueuedTime: number }> {
    return this.hub(hubName).partitions.flatMap((events, partition) =>
      events.map((e) => {
        const body = (e.message.body as { content?: Buffer }).content ?? Buffer.alloc(0);
        return {
          partitionId: String(partition),
          sequenceNumber: e.sequenceNumber,
          deviceId: String(e.message.message_annotations?.['iothub-connection-device-id'] ?? ''),
          body,
          properties: { ...(e.message.application_properties ?? {}) },
          enqueuedTime: e.enqueuedTime,
        };
      }),
    );
  }

  /** What the IoT hub does with a device-to-cloud message: stamps it and appends it to its device's partition. */
  appendFromDevice(
    hubName: string,
    deviceId: string,
    body: Uint8Array,
    properties: Readonly<Record<string, string>> = {},
  ): { partitionId: string; sequenceNumber: number } {
    const hub = this.hub(hubName);
    const partition = createHash('sha256').update(deviceId).digest().readUInt32BE(0) % hub.partitions.length;
    const events = hub.partitions[partition]!;
    const sequenceNumber = events.length;
    const enqueuedTime = Date.now();
    events.push({
      sequenceNumber,
      enqueuedTime,
      message: {
        body: rhea.message.data_section(Buffer.from(body)),
        application_properties: { ...properties },
        message_annotations: {
          'iothub-connection-device-id': deviceId,
          'iothub-enqueuedtime': new Date(enqueuedTime),
          'iothub-message-source': 'Telemetry',
          'x-opt-sequence-number': rhea.types.wrap_long(sequenceNumber),
          'x-opt-offset': String(sequenceNumber),
          'x-opt-enqueued-time': new Date(enqueuedTime),
        },
      },
    });
    for (const [key, readers] of hub.readers)
      if (key.slice(key.lastIndexOf('/') + 1) === String(partition)) for (const reader of readers) this.pump(hub, partition, reader);
    return { partitionId: String(partition), sequenceNumber };
  }

  /** How many receivers read a partition for a consumer group now (for tests of the stand-in itself). */
  readerCount(hubName: string, consumerGroup: string, partitionId: string): number {
    return this.hub(hubName).readers.get(`${consumerGroup.toLowerCase()}/${Number(partitionId)}`)?.size ?? 0;
  }

  private hub(name: string): StandinHub {
    const hub = this.hubs.get(name.toLowerCase());
    if (!hub) throw new Error(`No event hub ${name}`);
    return hub;
  }

  private onReader(sender: Sender, grants: ConnectionGrants): void {
    const address = sender.source?.address ?? '';
    const match = PARTITION_PATH.exec(address);
    const hub = match ? this.hubs.get(match[1]!.toLowerCase()) : undefined;
    if (!AmqpEndpoint.covers(grants, address)) {
      sender.close({ condition: 'amqp:unauthorized-access', description: `Unauthorized access to '${address}'.` });
      return;
    }
    const partition = Number(match?.[3]);
    if (!match || !hub || !hub.consumerGroups.has(match[2]!.toLowerCase()) || !(partition < hub.partitions.length)) {
      sender.close({ condition: 'amqp:not-found', description: `The messaging entity '${address}' could not be found.` });
      return;
    }
    const events = hub.partitions[partition]!;
    const start = startIndex(filterOf(sender), events);
    if (start === undefined) {
      sender.close({ condition: 'amqp:not-implemented', description: 'The selector filter is not understood by this stand-in.' });
      return;
    }
    const epochProperty = (sender as unknown as { remote: { attach?: { properties?: Record<string, unknown> } } }).remote.attach?.properties?.[
      'com.microsoft:epoch'
    ];
    const epoch = epochProperty === undefined ? undefined : toNumber(epochProperty);
    const key = `${match[2]!.toLowerCase()}/${partition}`;
    const readers = hub.readers.get(key) ?? new Set<PartitionReader>();
    hub.readers.set(key, readers);
    // Owner level (epoch), as Event Hubs enforces it per partition and consumer group: a reader
    // with a level takes the partition from readers with the same or a lower level and from
    // readers without one, and one with a lower level, or without one, is refused while a reader
    // with a level reads. Either side learns it by a detach with `amqp:link:stolen`, which the SDKs
    // turn into ReceiverDisconnectedError / ConsumerDisconnected and do not retry: the displaced
    // processor gives the partition up (CloseReason.OwnershipLost).
    // https://learn.microsoft.com/dotnet/api/azure.messaging.eventhubs.consumer.readeventoptions.ownerlevel
    // https://learn.microsoft.com/dotnet/api/azure.messaging.eventhubs.eventhubsexception.failurereason (ConsumerDisconnected)
    // https://learn.microsoft.com/dotnet/api/microsoft.azure.eventhubs.eventhubclient.createepochreceiver
    const stronger = [...readers].find((other) => other.epoch !== undefined && (epoch === undefined || other.epoch > epoch));
    if (stronger) {
      sender.close({
        condition: LINK_STOLEN,
        description:
          epoch === undefined
            ? `A receiver with epoch '${stronger.epoch}' is reading partition ${partition} of consumer group '${match[2]}': a receiver without an epoch cannot be created.`
            : `A receiver with a higher epoch '${stronger.epoch}' is reading partition ${partition} of consumer group '${match[2]}': a receiver with epoch '${epoch}' cannot be created.`,
      });
      return;
    }
    if (epoch !== undefined) {
      for (const other of [...readers]) {
        readers.delete(other);
        other.sender.close({
          condition: LINK_STOLEN,
          description: `New receiver with higher epoch of '${epoch}' is created hence current receiver with epoch '${other.epoch ?? 'none'}' is getting disconnected. If you are recreating the receiver, make sure a higher epoch is used.`,
        });
      }
    }
    const reader: PartitionReader = { sender, epoch, next: start };
    readers.add(reader);
    sender.set_source(sender.source);
    sender.on('sendable', () => this.pump(hub, partition, reader));
    const forget = (): void => void readers.delete(reader);
    sender.on('sender_close', forget);
    sender.on('sender_error', forget);
    this.pump(hub, partition, reader);
  }

  private pump(hub: StandinHub, partition: number, reader: PartitionReader): void {
    if (Date.now() < this.heldUntil) return; // holdDeliveries: its timer pumps again
    const events = hub.partitions[partition]!;
    while (reader.next < events.length && reader.sender.is_open() && reader.sender.sendable()) {
      reader.sender.send(events[reader.next]!.message);
      reader.next += 1;
    }
  }

  private onManagement(entityPath: string, request: Message): ManagementReply {
    const props = (request.application_properties ?? {}) as Record<string, unknown>;
    const hub = this.hubs.get(entityPath.toLowerCase());
    if (!hub) return { statusCode: 404, statusDescription: `The messaging entity '${entityPath}' could not be found.`, errorCondition: 'amqp:not-found' };
    if (props['operation'] !== 'READ')
      return {
        statusCode: 501,
        statusDescription: `Operation '${String(props['operation'])}' is not implemented by this stand-in.`,
        errorCondition: 'amqp:not-implemented',
      };
    if (props['type'] === 'com.microsoft:eventhub') {
      return {
        statusCode: 200,
        statusDescription: 'OK',
        body: {
          name: hub.name,
          created_at: new Date(hub.createdAt),
          partition_count: hub.partitions.length,
          partition_ids: hub.partitions.map((_, i) => String(i)),
        },
      };
    }
    if (props['type'] === 'com.microsoft:partition') {
      const partition = Number(props['partition']);
      const events = hub.partitions[partition];
      if (!events) return { statusCode: 404, statusDescription: `No partition ${String(props['partition'])}.`, errorCondition: 'amqp:not-found' };
      const last = events[events.length - 1];
      return {
        statusCode: 200,
        statusDescription: 'OK',
        body: {
          name: hub.name,
          partition: String(partition),
          begin_sequence_number: 0,
          last_enqueued_sequence_number: last?.sequenceNumber ?? -1,
          last_enqueued_offset: last ? String(last.sequenceNumber) : '-1',
          last_enqueued_time_utc: new Date(last?.enqueuedTime ?? 0),
          is_partition_empty: events.length === 0,
        },
      };
    }
    return { statusCode: 400, statusDescription: `Unknown READ type ${String(props['type'])}.`, errorCondition: 'amqp:not-implemented' };
  }
}

/** The selector filter of a partition receiver, e.g. `amqp.annotation.x-opt-offset > '12'`. */
function filterOf(sender: Sender): string {
  const filter = (sender.source as unknown as { filter?: Record<string, unknown> } | undefined)?.filter?.['apache.org:selector-filter:string'];
  // The filter is a described value: find the selector text inside it, not its descriptor.
  const find = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value.includes('amqp.annotation.') ? value : undefined;
    if (value && typeof value === 'object') {
      for (const v of Object.values(value)) {
        const found = find(v);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  return find(filter) ?? "amqp.annotation.x-opt-offset > '@latest'";
}

function startIndex(filter: string, events: readonly StoredEvent[]): number | undefined {
  const match = /amqp\.annotation\.x-opt-(offset|sequence-number|enqueued-time)\s*(>=|>)\s*'([^']*)'/.exec(filter);
  if (!match) return undefined;
  const [, field, op, raw] = match;
  const inclusive = op === '>=';
  if (field === 'offset' && raw === '@latest') return events.length;
  if (field === 'offset' && raw === '-1') return 0;
  const value = Number(raw);
  if (!Number.isFinite(value)) return undefined;
  const index = events.findIndex((e) => {
    const at = field === 'enqueued-time' ? e.enqueuedTime : e.sequenceNumber;
    return inclusive ? at >= value : at > value;
  });
  return index < 0 ? events.length : index;
}

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (Buffer.isBuffer(value)) return Number(value.readBigInt64BE(0));
  return Number(value);
}
