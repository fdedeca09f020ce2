import { MERGE_PATCH_SOURCE, tablesClientInterface, tablesMapClient, type Names, type PortTemplate } from './template.js';

/**
 * The hub that the service side and the device side of a device's connection share, over the
 * tables client (\`tablesClientInterface\`): its settings, the device rows (the registry's twins),
 * the telemetry stream's partitions and the cloud-to-device queues. Written into the
 * cloud-to-device and device-client templates, with \`randomUUID\`, \`ClockPort\`,
 * \`DeliveryFeedback\`, \`DeliveryFeedbackStatus\` and \`DeviceMessageOutcome\` imported.
 */
export const hubSource = (n: Names): string => `export interface ${n.className}HubSettings {
  /** Deliveries of a cloud-to-device message before it is given up with DeliveryCountExceeded; IoT Hub's default is 10. */
  readonly maxDeliveryCount: number;
  /** How long a message stays locked for the device it was delivered to; IoT Hub's is 60 s. */
  readonly lockTimeoutMs: number;
  /** How often devices and the feedback reader look for work; 50 ms when not given. */
  readonly pollMs?: number;
}

/**
 * A device identity as the registry keeps it: the fields of its twin the hub reads and writes (the
 * registry's rows carry the rest, tags and desired properties, which an update of the hub keeps).
 */
interface DeviceRow {
  readonly deviceId: string;
  readonly status: 'enabled' | 'disabled';
  readonly connectionState: 'Connected' | 'Disconnected';
  readonly lastActivityTime?: number;
  readonly reported: Readonly<Record<string, unknown>>;
  /** Grows with every change of the twin's properties. */
  readonly version: number;
}

/** A cloud-to-device message waiting for its device, with its lock while delivered. */
interface MessageRow {
  readonly sequence: number;
  readonly deviceId: string;
  readonly messageId: string;
  readonly body: string;
  readonly correlationId?: string;
  readonly properties?: Readonly<Record<string, string>>;
  readonly enqueuedTime: number;
  readonly expiresAt: number;
  readonly deliveryCount: number;
  readonly lock?: { readonly token: string; readonly until: number };
}

const DEVICES = 'devices';
const MESSAGES = 'c2d';
const FEEDBACK = 'feedback';
const META = 'meta';
/** Sequence numbers as keys that sort as text. */
const keyOf = (sequence: number): string => String(sequence).padStart(16, '0');

/** An event a device sent, in its partition of the hub's telemetry stream. */
interface TelemetryRow {
  /** Grows by one with each event of its partition, from 0. */
  readonly sequenceNumber: number;
  readonly deviceId: string;
  /** The body, in base64. */
  readonly body: string;
  readonly enqueuedTime: number;
  readonly properties?: Readonly<Record<string, string>>;
}

/**
 * The partitions of the hub's telemetry stream, its Event Hubs-compatible endpoint (a hub's count
 * is set when it is made: https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-messages-read-builtin).
 */
const PARTITIONS = 4;
/** The partition of a device's events: the one its id hashes to, so that they stay in order. */
function partitionOf(deviceId: string): string {
  let hash = 0;
  for (const char of deviceId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return String(hash % PARTITIONS);
}
/** The table of a partition's events, under their sequence numbers (\`keyOf\`). */
const telemetryTable = (partitionId: string): string => \`telemetry/\${partitionId}\`;
/** The sequence number of the partition's newest event (kept under \`META\`, written after the event); -1 when it has none. */
const lastTelemetrySequence = async (client: ${n.className}Client, partitionId: string): Promise<number> =>
  Number((await client.get(META, telemetryTable(partitionId))) ?? '-1');

/**
 * The hub, shared by its service side and its device side: the devices' rows, the telemetry stream
 * they append to, and the cloud-to-device queues. One queue per device, delivered in order one
 * message at a time under a lock; a message is given up, with its feedback, when its time to live
 * passes before delivery (Expired), at the maximum delivery count (DeliveryCountExceeded), or when
 * the device settles it (Success, Rejected) (https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-messages-c2d).
 */
class ${n.className}Hub {
  readonly pollMs: number;
  /** This hub's appends to the telemetry stream, one after the other, so that each takes the next sequence number of its partition. */
  private appending: Promise<void> = Promise.resolve();

  constructor(
    readonly client: ${n.className}Client,
    readonly clock: ClockPort,
    readonly settings: ${n.className}HubSettings,
  ) {
    this.pollMs = settings.pollMs ?? 50;
  }

  async device(deviceId: string): Promise<DeviceRow | undefined> {
    const text = await this.client.get(DEVICES, deviceId);
    return text === undefined ? undefined : (JSON.parse(text) as DeviceRow);
  }

  async updateDevice(deviceId: string, change: (row: DeviceRow) => DeviceRow): Promise<void> {
    const row = await this.device(deviceId);
    if (row !== undefined) await this.client.put(DEVICES, deviceId, JSON.stringify(change(row)));
  }

  /** Appends a device's event to its partition of the telemetry stream. */
  appendTelemetry(event: Omit<TelemetryRow, 'sequenceNumber'>): Promise<void> {
    const appended = this.appending.then(async () => {
      const partitionId = partitionOf(event.deviceId);
      const sequenceNumber = (await lastTelemetrySequence(this.client, partitionId)) + 1;
      await this.client.put(telemetryTable(partitionId), keyOf(sequenceNumber), JSON.stringify({ ...event, sequenceNumber }));
      await this.client.put(META, telemetryTable(partitionId), String(sequenceNumber));
    });
    this.appending = appended.catch(() => undefined);
    return appended;
  }

  async nextSequence(): Promise<number> {
    const sequence = Number((await this.client.get(META, 'sequence')) ?? '0') + 1;
    await this.client.put(META, 'sequence', String(sequence));
    return sequence;
  }

  /** The messages waiting, oldest first; those whose time passed are given up first. */
  async messages(): Promise<MessageRow[]> {
    const now = this.clock.now();
    const rows = (await this.client.list(MESSAGES)).map(([, text]) => JSON.parse(text) as MessageRow).sort((a, b) => a.sequence - b.sequence);
    const waiting: MessageRow[] = [];
    for (const row of rows) {
      const locked = row.lock !== undefined && row.lock.until > now;
      if (!locked && row.deliveryCount >= this.settings.maxDeliveryCount) await this.giveUp(row, 'DeliveryCountExceeded');
      else if (!locked && row.deliveryCount === 0 && row.expiresAt <= now) await this.giveUp(row, 'Expired');
      else waiting.push(row);
    }
    return waiting;
  }

  /** Locks the device's oldest message for it, unless that one is locked already (in order, one at a time). */
  async take(deviceId: string): Promise<MessageRow | undefined> {
    const oldest = (await this.messages()).find((row) => row.deviceId === deviceId);
    const now = this.clock.now();
    if (oldest === undefined || (oldest.lock !== undefined && oldest.lock.until > now)) return undefined;
    const taken: MessageRow = { ...oldest, deliveryCount: oldest.deliveryCount + 1, lock: { token: randomUUID(), until: now + this.settings.lockTimeoutMs } };
    await this.client.put(MESSAGES, keyOf(taken.sequence), JSON.stringify(taken));
    return taken;
  }

  /** Settles a delivered message with the device's outcome; a lock that lapsed settles nothing. */
  async settle(taken: MessageRow, outcome: DeviceMessageOutcome): Promise<void> {
    const text = await this.client.get(MESSAGES, keyOf(taken.sequence));
    const row = text === undefined ? undefined : (JSON.parse(text) as MessageRow);
    if (row?.lock?.token !== taken.lock?.token) return;
    if (outcome === 'complete') await this.giveUp(row!, 'Success');
    else if (outcome === 'reject') await this.giveUp(row!, 'Rejected');
    else if (row!.deliveryCount >= this.settings.maxDeliveryCount) await this.giveUp(row!, 'DeliveryCountExceeded');
    else {
      const { lock: _released, ...unlocked } = row!;
      await this.client.put(MESSAGES, keyOf(row!.sequence), JSON.stringify(unlocked));
    }
  }

  private async giveUp(row: MessageRow, status: DeliveryFeedbackStatus): Promise<void> {
    const feedback: DeliveryFeedback = { originalMessageId: row.messageId, deviceId: row.deviceId, status, enqueuedTime: this.clock.now() };
    await this.client.put(FEEDBACK, keyOf(await this.nextSequence()), JSON.stringify(feedback));
    await this.client.delete(MESSAGES, keyOf(row.sequence));
  }
}

/** Waits \`ms\`, or less when \`stop\` is called. */
function pause(ms: number, onStop: (stop: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    onStop(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}`;

/**
 * The device side of that hub (\`DeviceClientPort\`), after \`hubSource\` and with \`mergePatch\`
 * (\`MERGE_PATCH_SOURCE\`); with \`DeviceConnectionError\`, \`DeviceRegistryError\`,
 * \`DeviceClientPort\`, \`DeviceConnection\` and \`ReceivedCloudToDeviceMessage\` imported.
 */
export const deviceClientSource = (n: Names): string => `/**
 * The device side of the same hub, as a device SDK sees it: a registered, enabled device
 * connects, receives its cloud-to-device messages one at a time in order and settles each,
 * sends telemetry and reports properties; the hub keeps its connection state and last activity.
 */
export class ${n.className}DeviceClient implements DeviceClientPort {
  private readonly hub: ${n.className}Hub;

  constructor(client: ${n.className}Client, clock: ClockPort, settings: ${n.className}HubSettings) {
    this.hub = new ${n.className}Hub(client, clock, settings);
  }

  async connect(deviceId: string): Promise<DeviceConnection> {
    const device = await this.hub.device(deviceId);
    if (device?.status !== 'enabled') throw new DeviceRegistryError('DeviceNotFound', \`Device '\${deviceId}' is not an enabled device of the hub.\`);
    await this.hub.updateDevice(deviceId, (row) => ({ ...row, connectionState: 'Connected', lastActivityTime: this.hub.clock.now() }));
    return new ${n.className}DeviceConnection(deviceId, this.hub);
  }
}

class ${n.className}DeviceConnection implements DeviceConnection {
  private closed = false;
  private wake: () => void = () => undefined;
  private listening = false;

  constructor(
    readonly deviceId: string,
    private readonly hub: ${n.className}Hub,
  ) {}

  async sendTelemetry(body: Uint8Array, properties?: Readonly<Record<string, string>>): Promise<void> {
    this.assertOpen();
    const now = this.hub.clock.now();
    await this.hub.appendTelemetry({ deviceId: this.deviceId, body: Buffer.from(body).toString('base64'), enqueuedTime: now, ...(properties === undefined ? {} : { properties }) });
    await this.hub.updateDevice(this.deviceId, (row) => ({ ...row, lastActivityTime: now }));
  }

  onCloudToDeviceMessage(handler: (message: ReceivedCloudToDeviceMessage) => Promise<DeviceMessageOutcome>): void {
    if (this.listening) throw new DeviceConnectionError('HandlerExists', \`Device '\${this.deviceId}' already has a cloud-to-device handler.\`);
    this.listening = true;
    void this.receive(handler);
  }

  async reportProperties(patch: Readonly<Record<string, unknown>>): Promise<void> {
    this.assertOpen();
    await this.hub.updateDevice(this.deviceId, (row) => ({ ...row, reported: mergePatch(row.reported, patch), lastActivityTime: this.hub.clock.now(), version: row.version + 1 }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    // A handler still at work is not waited for: its message's lock lapses and the hub delivers it again.
    await this.hub.updateDevice(this.deviceId, (row) => ({ ...row, connectionState: 'Disconnected' }));
  }

  /** Takes the device's messages one at a time, in order, until closed. Handles its own failures (it runs unawaited). */
  private async receive(handler: (message: ReceivedCloudToDeviceMessage) => Promise<DeviceMessageOutcome>): Promise<void> {
    while (!this.closed) {
      try {
        const taken = await this.hub.take(this.deviceId);
        if (taken !== undefined) {
          const outcome = await handler({
            messageId: taken.messageId,
            body: new Uint8Array(Buffer.from(taken.body, 'base64')),
            ...(taken.correlationId === undefined ? {} : { correlationId: taken.correlationId }),
            ...(taken.properties === undefined ? {} : { properties: taken.properties }),
          }).catch((): DeviceMessageOutcome => 'abandon');
          if (!this.closed) await this.hub.settle(taken, outcome);
          continue;
        }
      } catch {
        // The service failed: look again after a pause.
      }
      await pause(this.hub.pollMs, (stop) => (this.wake = stop));
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new DeviceConnectionError('ConnectionClosed', \`Device '\${this.deviceId}' is closed.\`);
  }
}`;

/**
 * `CloudToDevicePort` over a table client, with the device side of the same hub (`DeviceClientPort`),
 * which the port's suite plays the devices with: per-device queues, locks, delivery counts,
 * expiry and feedback kept by the adapter, time from an injected clock.
 */
export const cloudToDeviceTemplate: PortTemplate = {
  portInterface: 'CloudToDevicePort',
  suite: 'cloudToDeviceConformance',
  fileSuffix: 'cloud-to-device',
  classSuffix: 'CloudToDevice',
  testClient: 'a Map of tables, with a manual clock',
  summary:
    'cloud-to-device messages with IoT Hub semantics: per-device queues in order, locks, delivery counts, expiry and delivery feedback (`CloudToDevicePort`), with the device side of the same hub (`DeviceClientPort`) the suite plays the devices with',
  source: (n) => `import { randomUUID } from 'node:crypto';
import type { DeliveryFeedbackStatus, Result } from '@fieldlink/domain';
import {
  C2D_DEFAULT_TTL_MS,
  C2D_MAX_BYTES,
  C2D_MAX_PENDING_PER_DEVICE,
  DeviceConnectionError,
  DeviceRegistryError,
  type ClockPort,
  type CloudToDeviceError,
  type CloudToDeviceErrorCode,
  type CloudToDeviceMessage,
  type CloudToDevicePort,
  type DeliveryFeedback,
  type DeviceClientPort,
  type DeviceConnection,
  type DeviceMessageOutcome,
  type FeedbackSubscription,
  type ReceivedCloudToDeviceMessage,
} from '@fieldlink/ports';

${tablesClientInterface(n)}

${hubSource(n)}

const fail = (code: CloudToDeviceErrorCode, message: string): Result<void, CloudToDeviceError> => ({ ok: false, error: { code, message } });

/** Registers \`deviceId\` as an enabled device identity, as the hub's registry does. */
export async function enableDevice(client: ${n.className}Client, deviceId: string): Promise<void> {
  const existing = await client.get(DEVICES, deviceId);
  const found = existing === undefined ? undefined : (JSON.parse(existing) as DeviceRow);
  const row: DeviceRow =
    found === undefined ? { deviceId, status: 'enabled', connectionState: 'Disconnected', reported: {}, version: 1 } : { ...found, status: 'enabled', version: found.version + 1 };
  await client.put(DEVICES, deviceId, JSON.stringify(row));
}

/**
 * The service side of cloud-to-device messaging on ${n.file} (flows 16–19): sends with full
 * acknowledgement, within IoT Hub's limits (64 KiB, 50 pending per device), and hands the
 * delivery feedback over in batches; a batch whose handler fails comes again.
 */
export class ${n.className}CloudToDevice implements CloudToDevicePort {
  private readonly hub: ${n.className}Hub;

  constructor(client: ${n.className}Client, clock: ClockPort, settings: ${n.className}HubSettings) {
    this.hub = new ${n.className}Hub(client, clock, settings);
  }

  async send(message: CloudToDeviceMessage): Promise<Result<void, CloudToDeviceError>> {
    if (message.body.byteLength > C2D_MAX_BYTES)
      return fail('MessageTooLarge', \`Message '\${message.messageId}' has \${message.body.byteLength} bytes; the hub takes at most \${C2D_MAX_BYTES}.\`);
    const device = await this.hub.device(message.deviceId);
    if (device === undefined) return fail('DeviceNotFound', \`Device '\${message.deviceId}' is not registered in the hub.\`);
    const pending = (await this.hub.messages()).filter((row) => row.deviceId === message.deviceId).length;
    if (pending >= C2D_MAX_PENDING_PER_DEVICE)
      return fail('DeviceQueueFull', \`Device '\${message.deviceId}' has \${pending} messages pending; the hub keeps at most \${C2D_MAX_PENDING_PER_DEVICE}.\`);
    const now = this.hub.clock.now();
    const row: MessageRow = {
      sequence: await this.hub.nextSequence(),
      deviceId: message.deviceId,
      messageId: message.messageId,
      body: Buffer.from(message.body).toString('base64'),
      ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }),
      ...(message.properties === undefined ? {} : { properties: message.properties }),
      enqueuedTime: now,
      expiresAt: now + (message.ttlMs ?? C2D_DEFAULT_TTL_MS),
      deliveryCount: 0,
    };
    await this.hub.client.put(MESSAGES, keyOf(row.sequence), JSON.stringify(row));
    return { ok: true, value: undefined };
  }

  async subscribeFeedback(handler: (feedback: readonly DeliveryFeedback[]) => Promise<void>): Promise<FeedbackSubscription> {
    let closed = false;
    let wake: () => void = () => undefined;
    const run = async (): Promise<void> => {
      while (!closed) {
        try {
          // Looking at the messages gives up those whose time passed, which writes their feedback.
          await this.hub.messages();
          const rows = (await this.hub.client.list(FEEDBACK)).sort(([a], [b]) => a.localeCompare(b));
          if (rows.length > 0) {
            await handler(rows.map(([, text]) => JSON.parse(text) as DeliveryFeedback));
            for (const [key] of rows) await this.hub.client.delete(FEEDBACK, key);
            continue;
          }
        } catch {
          // The handler failed (or the service did): the same feedback comes again after a pause.
        }
        await pause(this.hub.pollMs, (stop) => (wake = stop));
      }
    };
    const running = run();
    return {
      close: async () => {
        closed = true;
        wake();
        await running;
      },
    };
  }
}

${deviceClientSource(n)}

${MERGE_PATCH_SOURCE}
`,
  test: (n) => `import { cloudToDeviceConformance } from '@fieldlink/ports/testing';
import { enableDevice, ${n.className}CloudToDevice, ${n.className}DeviceClient, type ${n.className}Client } from './${n.file}-cloud-to-device.js';

${tablesMapClient(n)}

cloudToDeviceConformance('${n.className}CloudToDevice', async () => {
  const client = mapClient();
  let now = Date.parse('2026-11-28T09:00:00Z');
  const clock = { now: () => now };
  const settings = { maxDeliveryCount: 3, lockTimeoutMs: 60_000, pollMs: 5 };
  return {
    cloudToDevice: new ${n.className}CloudToDevice(client, clock, settings),
    devices: new ${n.className}DeviceClient(client, clock, settings),
    registerDevice: (deviceId) => enableDevice(client, deviceId),
    maxDeliveryCount: settings.maxDeliveryCount,
    deviceLockTimeoutMs: settings.lockTimeoutMs,
    advanceTime: async (ms) => {
      now += ms;
    },
    dispose: async () => undefined,
  };
});
`,
};
