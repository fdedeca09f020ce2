import rhea, { type EventContext, type Message, type Receiver, type Sender } from 'rhea';
import { AmqpEndpoint, settleWith, type ConnectionGrants } from '../amqp/amqp-endpoint.js';
import type { CloudToDeviceQueues, FeedbackRecord } from './cloud-to-device-queues.js';

export const C2D_MAX_BYTES = 64 * 1024;
const DEFAULT_TTL_MS = 60 * 60 * 1000;
const SERVICE_C2D = /^\/?messages\/devicebound$/i;
const SERVICE_FEEDBACK = /^\/?messages\/servicebound\/feedback$/i;
const DEVICE_C2D = /^\/?devices\/([^/]+)\/messages\/devicebound$/i;
const DEVICE_EVENTS = /^\/?devices\/([^/]+)\/messages\/events$/i;

/** What the AMQP side needs from the hub. */
export interface HubForAmqp {
  readonly queues: CloudToDeviceQueues;
  hasDevice(deviceId: string): boolean;
  deviceConnected(deviceId: string, connected: boolean): void;
  telemetry(deviceId: string, body: Buffer, properties: Record<string, string>): void;
}

/**
 * The hub's AMQP endpoints: the service's cloud-to-device sender (`/messages/devicebound`) and
 * feedback receiver (`/messages/serviceBound/feedback`), and a device's cloud-to-device receiver
 * and telemetry sender (`/devices/{id}/messages/...`). Authorization is the shared endpoint's
 * put-token; a device token grants only its own device.
 */
export class IotHubAmqp {
  private readonly feedback: FeedbackRecord[] = [];
  private readonly feedbackLinks = new Set<Sender>();
  /** The feedback message handed over and not yet settled, and the link it went on. */
  private inFlight: { readonly records: FeedbackRecord[]; readonly link: Sender } | undefined;

  constructor(private readonly hub: HubForAmqp) {}

  addFeedback(record: FeedbackRecord): void {
    this.feedback.push(record);
    this.sendFeedback();
  }

  senderOpened(sender: Sender, grants: ConnectionGrants): void {
    const address = sender.source?.address ?? '';
    if (!AmqpEndpoint.covers(grants, address)) return refuse(sender, 'amqp:unauthorized-access', `Unauthorized access to '${address}'.`);
    if (SERVICE_FEEDBACK.test(address)) {
      sender.set_source({ address });
      this.feedbackLinks.add(sender);
      sender.on('sendable', () => this.sendFeedback());
      sender.on('accepted', () => {
        if (this.inFlight?.link !== sender) return;
        this.inFlight = undefined;
        this.sendFeedback();
      });
      const giveBack = (): void => {
        // Not taken on this link: the records go back to the front, to be handed over again.
        if (this.inFlight?.link !== sender) return;
        this.feedback.unshift(...this.inFlight.records);
        this.inFlight = undefined;
        setTimeout(() => this.sendFeedback(), 100);
      };
      for (const event of ['released', 'rejected', 'modified']) sender.on(event, giveBack);
      const forget = (): void => {
        this.feedbackLinks.delete(sender);
        giveBack();
      };
      sender.on('sender_close', forget);
      sender.on('sender_error', forget);
      // A link lives only as long as its connection, and a dropped connection closes none of its
      // links: without this, a feedback message sent on the link just before the drop would stay
      // in flight for good, and no feedback would be sent again on any link. IoT Hub's feedback
      // receiver takes messages in peek-lock: what is not completed is delivered again
      // (https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-messages-c2d#message-feedback).
      sender.connection.on('disconnected', forget);
      return;
    }
    const device = DEVICE_C2D.exec(address);
    if (device) {
      const deviceId = decodeURIComponent(device[1]!);
      if (!this.hub.hasDevice(deviceId)) return refuse(sender, 'amqp:not-found', `Device ${deviceId} not found.`);
      sender.set_source({ address });
      const tokens = new Map<unknown, string>();
      const detach = this.hub.queues.attach(deviceId, (message, token) => {
        const delivery = sender.send({
          message_id: message.messageId,
          ...(message.correlationId !== undefined ? { correlation_id: message.correlationId } : {}),
          to: `/devices/${encodeURIComponent(deviceId)}/messages/deviceBound`,
          absolute_expiry_time: new Date(message.expiresAt),
          application_properties: { ...message.properties },
          body: rhea.message.data_section(message.body),
        });
        tokens.set(delivery, token);
      });
      this.hub.deviceConnected(deviceId, true);
      const settle = (outcome: 'complete' | 'reject' | 'abandon') => (context: EventContext) => {
        const token = tokens.get(context.delivery);
        tokens.delete(context.delivery);
        if (token) this.hub.queues.settle(deviceId, token, outcome);
        context.delivery!.update(true);
      };
      sender.on('accepted', settle('complete'));
      sender.on('rejected', settle('reject'));
      sender.on('released', settle('abandon'));
      sender.on('modified', settle('abandon'));
      const gone = (): void => {
        detach();
        this.hub.deviceConnected(deviceId, false);
      };
      sender.on('sender_close', gone);
      sender.on('sender_error', gone);
      sender.connection.on('disconnected', gone);
      return;
    }
    refuse(sender, 'amqp:not-found', `No such endpoint '${address}'.`);
  }

  receiverOpened(receiver: Receiver, grants: ConnectionGrants): void {
    const address = receiver.target?.address ?? '';
    if (!AmqpEndpoint.covers(grants, address)) return refuse(receiver, 'amqp:unauthorized-access', `Unauthorized access to '${address}'.`);
    if (SERVICE_C2D.test(address)) {
      receiver.set_target({ address });
      receiver.on('message', (context: EventContext) => this.onServiceMessage(context));
      return;
    }
    const device = DEVICE_EVENTS.exec(address);
    if (device) {
      const deviceId = decodeURIComponent(device[1]!);
      receiver.set_target({ address });
      receiver.on('message', (context: EventContext) => {
        const message = context.message!;
        const properties: Record<string, string> = {};
        for (const [k, v] of Object.entries((message.application_properties ?? {}) as Record<string, unknown>)) properties[k] = String(v);
        this.hub.telemetry(deviceId, bodyBytes(message.body), properties);
        context.delivery!.accept();
      });
      return;
    }
    refuse(receiver, 'amqp:not-found', `No such endpoint '${address}'.`);
  }

  private onServiceMessage(context: EventContext): void {
    const message = context.message!;
    const delivery = context.delivery!;
    const to = String(message.to ?? '');
    const match = /^\/devices\/([^/]+)\/messages\/devicebound$/i.exec(to);
    const deviceId = match ? decodeURIComponent(match[1]!) : '';
    const body = bodyBytes(message.body);
    if (!match || !this.hub.hasDevice(deviceId))
      return settleWith(delivery, { condition: 'amqp:not-found', description: `Device ${deviceId || to} not found.` });
    if (body.length > C2D_MAX_BYTES)
      return settleWith(delivery, { condition: 'amqp:link:message-size-exceeded', description: `Message of ${body.length} bytes exceeds ${C2D_MAX_BYTES}.` });
    const properties: Record<string, string> = {};
    let ack = 'none';
    for (const [k, v] of Object.entries((message.application_properties ?? {}) as Record<string, unknown>)) {
      if (k === 'iothub-ack') ack = String(v);
      else properties[k] = String(v);
    }
    const given = message.absolute_expiry_time as unknown;
    const expiry = given instanceof Date ? given.getTime() : typeof given === 'number' ? given : Date.now() + DEFAULT_TTL_MS;
    const result = this.hub.queues.enqueue(deviceId, {
      messageId: idText(message.message_id),
      body,
      ...(message.correlation_id !== undefined ? { correlationId: idText(message.correlation_id) } : {}),
      properties,
      ack,
      expiresAt: expiry,
    });
    if (result === 'full')
      return settleWith(delivery, { condition: 'amqp:resource-limit-exceeded', description: `Device ${deviceId} has the maximum number of pending messages.` });
    settleWith(delivery, 'accepted');
  }

  private sendFeedback(): void {
    if (this.inFlight || this.feedback.length === 0) return;
    const link = [...this.feedbackLinks].find((l) => l.is_open() && l.sendable());
    if (!link) return;
    const records = this.feedback.splice(0, 100);
    this.inFlight = { records, link };
    const message: Message = {
      content_type: 'application/vnd.microsoft.iothub.feedback.json',
      body: rhea.message.data_section(Buffer.from(JSON.stringify(records))),
    };
    link.send(message);
  }
}

/** Message ids may arrive as AMQP uuids (16 bytes, as azure-iothub sends GUID-shaped ids) or strings. */
function idText(id: unknown): string {
  if (Buffer.isBuffer(id) && id.length === 16) return rhea.uuid_to_string(id);
  return String(id ?? '');
}

function refuse(link: Sender | Receiver, condition: string, description: string): void {
  link.close({ condition, description });
}

/** A message body as bytes: a data section, a string, or anything else as JSON. */
export function bodyBytes(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (body && typeof body === 'object' && 'content' in body) {
    const content = (body as { content: unknown }).content;
    if (Buffer.isBuffer(content)) return content;
    if (Array.isArray(content)) return Buffer.concat(content.filter((c): c is Buffer => Buffer.isBuffer(c)));
  }
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body ?? null), 'utf8');
}
