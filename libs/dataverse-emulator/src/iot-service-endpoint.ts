import { randomUUID } from 'node:crypto';
import { backoffDelay, type BackoffPolicy } from '@fieldlink/domain';
import {
  SERVICE_ENDPOINT_MESSAGE_MAX_BYTES,
  ServiceEndpointMessageFormat,
  serviceEndpointQueueMessage,
  type DataverseEntity,
  type DataverseValue,
  type LogPort,
  type MessageQueuePort,
  type QueueMessage,
  type RemoteExecutionContext,
} from '@fieldlink/ports';
import type { TableSchema } from './cfs-schema.js';
import type { WireRecord } from './record-store.js';

/** Who the emulated organisation is, as it appears in every context it posts. */
export interface OrganizationIdentity {
  readonly organizationId: string;
  readonly organizationName: string;
  readonly businessUnitId: string;
  readonly userId: string;
  /** The organisation URI, sent as the `…/Claims/Organization` property (known once the server listens). */
  readonly organizationUri: () => string;
}

export interface ServiceEndpointSettings {
  /** `serviceendpoint.messageformat`: 1 Binary XML, 2 Json, 3 Text XML. */
  readonly messageFormat: ServiceEndpointMessageFormat;
  /** The size over which the context is stripped (Dataverse: 192 KB). */
  readonly maxMessageBytes?: number;
  /** Back-off between tries of a message the queue refused: full jitter, from `baseMs` doubling to `maxMs` (1 s → 30 s). */
  readonly retry?: BackoffPolicy;
  /** Randomness for the jitter, in [0, 1). */
  readonly random?: () => number;
}

const DEFAULT_RETRY: BackoffPolicy = { baseMs: 1_000, maxMs: 30_000 };

/** A post for the endpoint to make: the operation's context, its message id, and what to tell once it is done with. */
export interface EndpointPost {
  readonly context: PendingContext;
  readonly messageId: string;
  readonly made: () => void;
}

/** A message the queue refused, waiting for its next try: the same message (and message id) each time. */
interface PendingPost {
  readonly context: PendingContext;
  readonly message: QueueMessage;
  /** Told once the queue took the message (the organisation's record of it goes). */
  readonly made: () => void;
  tries: number;
  reason: string;
}

/** What the CFS plug-in steps would have posted; sent after the transaction that caused it commits. */
export type PendingContext = RemoteExecutionContext;

/** Device columns whose change reaches the hub (the CFS step's filtering attributes). */
export const DEVICE_UPDATE_FILTERING_ATTRIBUTES = ['msdyn_tags', 'msdyn_devicesettings'] as const;

/**
 * The IoT service endpoint of the emulated organisation (flow 13): the CFS solution registers
 * asynchronous steps on Create of `msdyn_iotdevicecommand`, on Update of `msdyn_iotdevice` (its
 * tags or settings) and on the actions `msdyn_RegisterIoTDevice` / `msdyn_PullDataForIoTDevice`;
 * each posts a `RemoteExecutionContext` to the outbound queue as a Dataverse service endpoint does
 * (https://learn.microsoft.com/en-us/power-apps/developer/data-platform/write-listener-application-azure-solution,
 * https://learn.microsoft.com/en-us/power-apps/developer/data-platform/azure-integration): in the
 * endpoint's message format (Binary XML `application/msbin1`, Json `application/json`, Text XML
 * `application/xml`), with the claim properties `http://schemas.microsoft.com/xrm/2011/Claims/`
 * Organization, User, InitiatingUser, EntityLogicalName and RequestName; over 192 KB without the
 * input parameters and images and marked `MessageMaxSizeExceeded`, and not at all when even that
 * does not fit (kept as undelivered, as Dataverse fails the asynchronous operation).
 */
export class IoTServiceEndpoint {
  /** Contexts that can never be posted (too large even stripped): Dataverse fails such an operation. */
  readonly undelivered: Array<{ readonly context: PendingContext; readonly reason: string }> = [];
  posted = 0;
  /**
   * Messages the queue refused, oldest first. Posting is an asynchronous operation (a system
   * job): the asynchronous service keeps a job whose step failed for a transient reason and runs
   * it again later (https://learn.microsoft.com/power-apps/developer/data-platform/asynchronous-service),
   * so a refused message is tried again, with back-off, until the queue takes it or the
   * organisation stops. Later messages wait behind it, so that they reach the queue in the order
   * of the operations that caused them.
   */
  private readonly retrying: PendingPost[] = [];
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryRunning = false;
  private stopped = false;

  constructor(
    private readonly queue: MessageQueuePort | undefined,
    private readonly identity: OrganizationIdentity,
    private readonly log: LogPort,
    private readonly now: () => number,
    private readonly entityOf: (entitySet: string) => TableSchema | undefined,
    private readonly settings: ServiceEndpointSettings = { messageFormat: ServiceEndpointMessageFormat.Json },
  ) {}

  created(table: TableSchema, record: WireRecord): PendingContext {
    const target = this.entity(table, record);
    return this.context('Create', table.logicalName, target.id, { Target: target }, { id: target.id }, {}, {}, `IoT Message: Create of ${table.logicalName}`);
  }

  updated(table: TableSchema, changed: readonly string[], before: WireRecord, after: WireRecord): PendingContext {
    const full = this.entity(table, after);
    const attributes: Record<string, DataverseValue> = { [table.primaryKey]: full.id };
    for (const name of changed) {
      const wire = table.columns[name]?.kind === 'lookup' ? `_${name}_value` : name;
      if (full.attributes[name] !== undefined) attributes[name] = full.attributes[name]!;
      else if (after[wire] === null) attributes[name] = null;
    }
    // The platform stamps modifiedon during the operation; a post-operation step's Target carries it.
    if (after['modifiedon'] != null) attributes['modifiedon'] = { kind: 'DateTime', epochMs: Date.parse(String(after['modifiedon'])) };
    const target: DataverseEntity = { ...full, attributes };
    return this.context(
      'Update',
      table.logicalName,
      full.id,
      { Target: target },
      {},
      { PreImage: this.entity(table, before) },
      { PostImage: full },
      `IoT Message: Update of ${table.logicalName}`,
    );
  }

  registerDevices(devices: readonly WireRecord[]): PendingContext {
    const join = (values: readonly unknown[]): string => values.map((v) => (v == null ? '' : String(v))).join(',');
    return this.context(
      'msdyn_RegisterIoTDevice',
      'none',
      '00000000-0000-0000-0000-000000000000',
      {
        DeviceIds: join(devices.map((d) => d['msdyn_deviceid'])),
        IoTDeviceIds: join(devices.map((d) => d['msdyn_iotdeviceid'])),
        IoTDeviceNames: join(devices.map((d) => d['msdyn_name'])),
        IoTDeviceTags: join(devices.map((d) => d['msdyn_tags'] ?? '{}')),
        IoTDeviceSettings: join(devices.map((d) => d['msdyn_devicesettings'] ?? '{}')),
      },
      {},
      {},
      {},
      'IoT Message: msdyn_RegisterIoTDevice',
    );
  }

  pullDeviceData(devices: readonly WireRecord[]): PendingContext {
    return this.context(
      'msdyn_PullDataForIoTDevice',
      'none',
      '00000000-0000-0000-0000-000000000000',
      {
        DeviceIds: devices.map((d) => String(d['msdyn_deviceid'] ?? '')).join(','),
        IoTDeviceIds: devices.map((d) => String(d['msdyn_iotdeviceid'])).join(','),
      },
      {},
      {},
      {},
      'IoT Message: msdyn_PullDataForIoTDevice',
    );
  }

  /**
   * Posts the contexts of one committed operation, in order; a refusal is kept, not thrown. Each
   * goes under its own message id (the same on every try, and when a later start posts it again),
   * and its `made` is told once it is done with: taken by the queue, or failed for good.
   */
  async post(posts: readonly EndpointPost[]): Promise<void> {
    if (this.queue === undefined) return;
    for (const { context, messageId, made: done } of posts) {
      const message = serviceEndpointQueueMessage(
        context,
        this.settings.messageFormat,
        {
          organizationUri: this.identity.organizationUri(),
          userId: context.userId ?? this.identity.userId,
          initiatingUserId: context.initiatingUserId ?? this.identity.userId,
        },
        messageId,
        this.settings.maxMessageBytes ?? SERVICE_ENDPOINT_MESSAGE_MAX_BYTES,
      );
      if (!message.ok) {
        this.undelivered.push({ context, reason: message.error.message });
        this.log.error('dataverse-emulator.service-endpoint-message-too-large', { messageName: context.messageName, reason: message.error.message });
        done();
        continue;
      }
      if (this.retrying.length > 0) {
        // Behind messages still waiting for the queue: keep the order the operations ran in.
        this.retrying.push({ context, message: message.value, made: done, tries: 0, reason: 'waiting behind a refused message' });
        this.scheduleRetry();
        continue;
      }
      try {
        await this.queue.send([message.value]);
        this.posted++;
        done();
      } catch (e) {
        const reason = reasonOf(e);
        this.retrying.push({ context, message: message.value, made: done, tries: 1, reason });
        this.log.warn('dataverse-emulator.service-endpoint-refused', { messageName: context.messageName, reason, waiting: this.retrying.length });
        this.scheduleRetry();
      }
    }
  }

  /** Messages the queue refused that wait for another try. */
  get pendingRetries(): number {
    return this.retrying.length;
  }

  /** Stops trying again; what still waits is logged, and posted by the next start on the same database. */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.retrying.length > 0) this.log.warn('dataverse-emulator.service-endpoint-stopped-with-pending', { waiting: this.retrying.length });
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryRunning || this.retryTimer !== undefined || this.retrying.length === 0) return;
    // The oldest message's first retry (one try made) is attempt 0; one not tried yet counts as that.
    const delayMs = backoffDelay(this.settings.retry ?? DEFAULT_RETRY, this.retrying[0]!.tries - 1, this.settings.random ?? Math.random);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.retryPending();
    }, delayMs);
    this.retryTimer.unref?.();
  }

  private async retryPending(): Promise<void> {
    const queue = this.queue;
    if (queue === undefined) return;
    this.retryRunning = true;
    try {
      await this.sendPending(queue);
    } finally {
      this.retryRunning = false;
    }
    this.scheduleRetry();
  }

  /** Sends what waits, oldest first, until the queue refuses again. */
  private async sendPending(queue: MessageQueuePort): Promise<void> {
    while (this.retrying.length > 0) {
      const pending = this.retrying[0]!;
      if (this.stopped) return;
      try {
        await queue.send([pending.message]);
        this.retrying.shift();
        this.posted++;
        pending.made();
        this.log.info('dataverse-emulator.service-endpoint-posted-after-retry', {
          messageName: pending.context.messageName,
          tries: pending.tries + 1,
          waiting: this.retrying.length,
        });
      } catch (e) {
        pending.tries++;
        pending.reason = reasonOf(e);
        this.log.warn('dataverse-emulator.service-endpoint-refused', {
          messageName: pending.context.messageName,
          reason: pending.reason,
          tries: pending.tries,
        });
        // The queue is still refusing: wait again before the rest.
        return;
      }
    }
  }

  private entity(table: TableSchema, record: WireRecord): DataverseEntity {
    const id = String(record[table.primaryKey]);
    const attributes: Record<string, DataverseValue> = { [table.primaryKey]: id };
    for (const [name, type] of Object.entries(table.columns)) {
      const wire = type.kind === 'lookup' ? `_${name}_value` : name;
      const value = record[wire];
      if (value === null || value === undefined) continue;
      switch (type.kind) {
        case 'string':
        case 'int':
        case 'double':
        case 'bool':
          attributes[name] = value as string | number | boolean;
          break;
        case 'guid':
          // A Guid attribute travels as its text.
          attributes[name] = String(value);
          break;
        case 'option':
          attributes[name] = { kind: 'OptionSetValue', value: Number(value) };
          break;
        case 'datetime':
          attributes[name] = { kind: 'DateTime', epochMs: Date.parse(String(value)) };
          break;
        case 'lookup': {
          const target = this.entityOf(type.targets[0]!);
          attributes[name] = { kind: 'EntityReference', logicalName: target?.logicalName ?? type.targets[0]!, id: String(value), name: null };
          break;
        }
      }
    }
    if (record['createdon'] != null) attributes['createdon'] = { kind: 'DateTime', epochMs: Date.parse(String(record['createdon'])) };
    return { kind: 'Entity', logicalName: table.logicalName, id, attributes, formattedValues: {}, keyAttributes: {}, entityState: null, rowVersion: null };
  }

  private context(
    messageName: string,
    primaryEntityName: string,
    primaryEntityId: string,
    inputParameters: Record<string, DataverseValue>,
    outputParameters: Record<string, DataverseValue>,
    preEntityImages: Record<string, DataverseEntity>,
    postEntityImages: Record<string, DataverseEntity>,
    stepName: string,
  ): PendingContext {
    return {
      messageName,
      primaryEntityName,
      primaryEntityId,
      secondaryEntityName: 'none',
      inputParameters,
      outputParameters,
      sharedVariables: {},
      preEntityImages,
      postEntityImages,
      businessUnitId: this.identity.businessUnitId,
      correlationId: randomUUID(),
      initiatingUserId: this.identity.userId,
      userId: this.identity.userId,
      organizationId: this.identity.organizationId,
      organizationName: this.identity.organizationName,
      operationId: randomUUID(),
      requestId: randomUUID(),
      operationCreatedOn: this.now(),
      depth: 1,
      stage: 40,
      mode: 1,
      isolationMode: 1,
      isExecutingOffline: false,
      isInTransaction: false,
      isOfflinePlayback: false,
      owningExtension: { kind: 'EntityReference', logicalName: 'sdkmessageprocessingstep', id: randomUUID(), name: stepName },
    };
  }
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
