import { Aedes, type Client, type PublishPacket } from 'aedes';
import type { Duplex } from 'node:stream';
import { checkSharedAccessSignature, audiencePath } from '../amqp/shared-access-signature.js';
import type { CloudToDeviceQueues } from './cloud-to-device-queues.js';

/** What the MQTT side needs from the hub. */
export interface HubForMqtt {
  readonly queues: CloudToDeviceQueues;
  deviceKey(deviceId: string): string | undefined;
  deviceConnected(deviceId: string, connected: boolean): void;
  telemetry(deviceId: string, body: Buffer, properties: Record<string, string>): void;
  /** The twin's desired and reported properties, each with its `$version`. */
  twinDocument(deviceId: string): { desired: Record<string, unknown>; reported: Record<string, unknown> };
  /** Merges a reported-properties patch; answers the new reported version. */
  patchReported(deviceId: string, patch: Record<string, unknown>): number;
}

/**
 * The hub's MQTT 3.1.1 device endpoint on aedes, with IoT Hub's topic conventions: a device
 * connects as client id `{deviceId}` with user name `{host}/{deviceId}/?api-version=…` and a SAS
 * token signed with its key as password; it publishes telemetry to
 * `devices/{id}/messages/events/{property bag}`, receives cloud-to-device messages on
 * `devices/{id}/messages/devicebound/{property bag}` at QoS 1 (the PUBACK completes the
 * message), and reads and patches its twin through `$iothub/twin/GET` and
 * `$iothub/twin/PATCH/properties/reported`, answered on `$iothub/twin/res/{status}/?$rid=…`.
 * A device may only use its own topics. Not implemented: direct methods, desired-property
 * notifications, modules, MQTT 5, will messages; sessions are always clean (the hub's own
 * cloud-to-device queue keeps what a device has not taken).
 */
export async function createIotHubMqttBroker(hub: HubForMqtt): Promise<{ handle(stream: Duplex): void; close(): Promise<void> }> {
  const deviceOf = new WeakMap<Client, string>();
  const detachers = new Map<Client, () => void>();
  const inFlight = new Map<Client, string>();
  const broker = await Aedes.createBroker({
    // Sessions are clean: undelivered cloud-to-device messages stay in the hub's queue instead.
    preConnect: (_client, packet, callback) => {
      (packet as { clean: boolean }).clean = true;
      callback(null, true);
    },
    authenticate: (client, username, password, callback) => {
      const deviceId = client.id;
      const key = hub.deviceKey(deviceId);
      const token = password ? password.toString() : '';
      const check = key
        ? checkSharedAccessSignature(token, [{ keyName: deviceId, key }], Date.now(), 'base64')
        : { ok: false as const, reason: 'unknown device' };
      const userOk = typeof username === 'string' && username.split('/')[1] === deviceId;
      if (!check.ok || !userOk || decodeURIComponent(audiencePath(check.audience)) !== `devices/${deviceId.toLowerCase()}`) {
        const error = Object.assign(new Error('Not authorized'), { returnCode: 5 });
        callback(error as never, false);
        return;
      }
      deviceOf.set(client, deviceId);
      callback(null, true);
    },
    authorizePublish: (client, packet, callback) => {
      const deviceId = client ? deviceOf.get(client) : undefined;
      if (!deviceId) return callback(new Error('not connected'));
      const topic = packet.topic;
      const own = topic.startsWith(`devices/${encodeURIComponent(deviceId)}/messages/events/`) || topic.startsWith(`devices/${deviceId}/messages/events/`);
      if (own || topic.startsWith('$iothub/twin/')) return callback(null);
      callback(new Error(`device ${deviceId} may not publish to ${topic}`));
    },
    authorizeSubscribe: (client, subscription, callback) => {
      const deviceId = client ? deviceOf.get(client) : undefined;
      const topic = subscription.topic;
      const own =
        deviceId !== undefined &&
        (topic === `devices/${deviceId}/messages/devicebound/#` || topic === `devices/${encodeURIComponent(deviceId)}/messages/devicebound/#`);
      if (own || topic.startsWith('$iothub/twin/') || topic.startsWith('$iothub/methods/')) return callback(null, subscription);
      callback(new Error(`device ${deviceId ?? '?'} may not subscribe to ${topic}`), null);
    },
  });

  broker.on('client', (client) => {
    const deviceId = deviceOf.get(client);
    if (deviceId) hub.deviceConnected(deviceId, true);
  });
  broker.on('clientDisconnect', (client) => {
    const deviceId = deviceOf.get(client);
    detachers.get(client)?.();
    detachers.delete(client);
    inFlight.delete(client);
    if (deviceId) hub.deviceConnected(deviceId, false);
  });
  broker.on('subscribe', (subscriptions, client) => {
    const deviceId = client ? deviceOf.get(client) : undefined;
    if (!deviceId || !subscriptions.some((s) => s.topic.includes('/messages/devicebound/'))) return;
    detachers.get(client)?.();
    detachers.set(
      client,
      hub.queues.attach(deviceId, (message, token) => {
        inFlight.set(client, token);
        const bag = new URLSearchParams();
        bag.set('$.mid', message.messageId);
        if (message.correlationId !== undefined) bag.set('$.cid', message.correlationId);
        bag.set('$.to', `/devices/${encodeURIComponent(deviceId)}/messages/deviceBound`);
        for (const [k, v] of Object.entries(message.properties)) bag.set(k, v);
        const topic = `devices/${encodeURIComponent(deviceId)}/messages/devicebound/${bag.toString().replace(/\+/g, '%20')}`;
        client.publish({ cmd: 'publish', topic, payload: message.body, qos: 1, retain: false, dup: false } as PublishPacket, () => undefined);
      }),
    );
  });
  // A PUBACK completes the one message in flight to that device.
  broker.on('ack', (_packet, client) => {
    const deviceId = client ? deviceOf.get(client) : undefined;
    const token = client ? inFlight.get(client) : undefined;
    if (!deviceId || !token) return;
    inFlight.delete(client);
    hub.queues.settle(deviceId, token, 'complete');
  });
  broker.on('publish', (packet, client) => {
    const deviceId = client ? deviceOf.get(client) : undefined;
    if (!deviceId || !client) return;
    const topic = packet.topic;
    const [path, query = ''] = topic.split('/?');
    if (topic.startsWith('$iothub/twin/')) {
      const rid = new URLSearchParams(query).get('$rid') ?? '';
      if (path === '$iothub/twin/GET') {
        respond(client, `$iothub/twin/res/200/?$rid=${rid}`, JSON.stringify(hub.twinDocument(deviceId)));
      } else if (path === '$iothub/twin/PATCH/properties/reported') {
        let patch: unknown;
        try {
          patch = JSON.parse(packet.payload.toString());
        } catch {
          respond(client, `$iothub/twin/res/400/?$rid=${rid}`, '');
          return;
        }
        const version = hub.patchReported(deviceId, (patch ?? {}) as Record<string, unknown>);
        respond(client, `$iothub/twin/res/204/?$rid=${rid}&$version=${version}`, '');
      } else {
        respond(client, `$iothub/twin/res/400/?$rid=${rid}`, '');
      }
      return;
    }
    const events = /^devices\/([^/]+)\/messages\/events\/(.*)$/.exec(topic);
    if (events) {
      const properties: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(events[2]!.replace(/\+/g, '%2B'))) if (!k.startsWith('$.')) properties[k] = v;
      hub.telemetry(deviceId, Buffer.from(packet.payload), properties);
    }
  });

  return {
    handle: (stream) => void broker.handle(stream as never),
    close: () => new Promise<void>((resolve) => broker.close(() => resolve())),
  };
}

function respond(client: Client, topic: string, payload: string): void {
  client.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false } as PublishPacket, () => undefined);
}
