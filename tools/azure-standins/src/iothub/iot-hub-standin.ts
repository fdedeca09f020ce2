import { randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { connect as connectTcp, type AddressInfo } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { AmqpEndpoint } from '../amqp/amqp-endpoint.js';
import { checkSharedAccessSignature, type SharedAccessPolicy } from '../amqp/shared-access-signature.js';
import { CloudToDeviceQueues } from './cloud-to-device-queues.js';
import { IotHubAmqp, type HubForAmqp } from './iot-hub-amqp.js';
import { createIotHubMqttBroker, type HubForMqtt } from './iot-hub-mqtt.js';
import type { LoopbackCertificate } from './loopback-certificate.js';

export interface IotHubStandinOptions {
  readonly policy?: SharedAccessPolicy;
  /** IoT Hub's default is 10. */
  readonly maxDeliveryCount?: number;
  /** How long a delivered, unsettled cloud-to-device message stays locked (the hub: 60 s). */
  readonly lockTimeoutMs?: number;
  /** Where device-to-cloud messages go: the hub's built-in Event Hubs-compatible endpoint. */
  readonly telemetry?: (deviceId: string, body: Buffer, properties: Record<string, string>) => void;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface StandinDevice {
  readonly deviceId: string;
  readonly generationId: string;
  etag: string;
  status: 'enabled' | 'disabled';
  primaryKey: string;
  connectionState: 'Connected' | 'Disconnected';
  lastActivityTime?: number;
  tags: JsonObject;
  desired: JsonObject;
  reported: JsonObject;
  version: number;
  desiredVersion: number;
  reportedVersion: number;
}

/** IoT Hub's rule for device ids: at most 128 ASCII letters, digits and `-.%_*?!(),:=@$'`. */
const DEVICE_ID = /^[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}$/;
/** The registry query the stand-in answers: the enabled devices that are connected. */
const CONNECTED_QUERY = /^SELECT \* FROM devices WHERE connectionState = 'Connected' AND status = 'enabled'$/i;

/**
 * An IoT hub on one loopback TLS port (a certificate made at test time): the service REST API
 * (identity registry and twins, as `azure-iothub`'s Registry calls them), AMQPS for
 * cloud-to-device, feedback and AMQP devices (`iot-hub-amqp.ts`), and MQTTS for devices
 * (`iot-hub-mqtt.ts`), with per-device cloud-to-device queues (`cloud-to-device-queues.ts`).
 * Device-to-cloud messages go to `options.telemetry` (the Event Hubs stand-in).
 *
 * REST, kept:
 * SAS authorization with the hub's `iothubowner` policy (key decoded from base64, as the
 * hub does); create, read, update (If-Match) and delete of devices; the bulk `POST /devices`
 * with import modes create/update/delete and a result per device (`DeviceAlreadyExists`,
 * `ArgumentInvalid`, `DeviceNotFound`); device id validation; twins read and patched with JSON
 * merge patch on tags and desired properties, with a version that grows; the one registry query
 * Fieldlink asks (`/devices/query`: the connected, enabled devices), paged. Not implemented: the
 * rest of the query language, jobs, modules, configurations, X.509 or CA authentication
 * of devices, ETag checks other than `*`, throttling.
 */
export class IotHubStandin {
  readonly devices = new Map<string, StandinDevice>();
  readonly queues: CloudToDeviceQueues;
  private readonly policy: SharedAccessPolicy;
  private readonly http: HttpServer;
  private readonly amqp: IotHubAmqp;
  private readonly view: HubForAmqp & HubForMqtt;
  private readonly amqpEndpoint: AmqpEndpoint;
  private mqtt: Awaited<ReturnType<typeof createIotHubMqttBroker>> | undefined;
  private tls: TlsServer | undefined;
  private readonly sockets = new Set<TLSSocket>();
  private amqpPort = 0;
  private port = 0;

  constructor(
    private readonly certificate: LoopbackCertificate,
    private readonly options: IotHubStandinOptions = {},
  ) {
    this.policy = options.policy ?? { keyName: 'iothubowner', key: randomBytes(32).toString('base64') };
    this.http = createHttpServer((request, response) => {
      this.onRequest(request, response).catch((error: unknown) => send(response, 500, { Message: error instanceof Error ? error.message : String(error) }));
    });
    this.queues = new CloudToDeviceQueues(
      { maxDeliveryCount: options.maxDeliveryCount ?? 10, lockTimeoutMs: options.lockTimeoutMs ?? 60_000, maxPendingPerDevice: 50 },
      (deviceId) => this.devices.get(deviceId)?.generationId ?? '',
      (record) => this.amqp.addFeedback(record),
    );
    const hub = {
      queues: this.queues,
      hasDevice: (deviceId: string) => this.devices.has(deviceId),
      deviceKey: (deviceId: string) => (this.devices.get(deviceId)?.status === 'enabled' ? this.devices.get(deviceId)?.primaryKey : undefined),
      deviceConnected: (deviceId: string, connected: boolean) => this.presence(deviceId, connected),
      telemetry: (deviceId: string, body: Buffer, properties: Record<string, string>) => {
        const device = this.devices.get(deviceId);
        if (device) device.lastActivityTime = Date.now();
        this.options.telemetry?.(deviceId, body, properties);
      },
      twinDocument: (deviceId: string) => {
        const device = this.devices.get(deviceId)!;
        return { desired: { ...device.desired, $version: device.desiredVersion }, reported: { ...device.reported, $version: device.reportedVersion } };
      },
      patchReported: (deviceId: string, patch: Record<string, unknown>) => {
        const device = this.devices.get(deviceId)!;
        device.reported = mergePatch(device.reported, patch as Json);
        device.reportedVersion += 1;
        device.lastActivityTime = Date.now();
        this.touch(device);
        return device.reportedVersion;
      },
    };
    this.view = hub;
    this.amqp = new IotHubAmqp(hub);
    this.amqpEndpoint = new AmqpEndpoint(
      {
        keyEncoding: 'base64',
        putTokenStatus: 200,
        policies: () => [
          this.policy,
          ...[...this.devices.values()].filter((d) => d.status === 'enabled').map((d) => ({ keyName: `device:${d.deviceId}`, key: d.primaryKey })),
        ],
        // A device's key grants only that device's own endpoints.
        mayGrant: (keyName, audience) =>
          !keyName.startsWith('device:') || decodeURIComponent(audience) === `devices/${keyName.slice('device:'.length).toLowerCase()}`,
      },
      {
        senderOpened: (sender, grants) => this.amqp.senderOpened(sender, grants),
        receiverOpened: (receiver, grants) => this.amqp.receiverOpened(receiver, grants),
        management: () => ({ statusCode: 501, statusDescription: 'No $management on this stand-in.', errorCondition: 'amqp:not-implemented' }),
      },
    );
  }

  async start(): Promise<this> {
    this.amqpPort = await this.amqpEndpoint.start();
    this.mqtt = await createIotHubMqttBroker(this.view);
    const tls = createTlsServer({ key: this.certificate.key, cert: this.certificate.cert }, (socket: TLSSocket) => this.frontDoor(socket));
    this.tls = tls;
    await new Promise<void>((resolve, reject) => {
      tls.once('error', reject);
      tls.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (tls.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.queues.close();
    for (const socket of this.sockets) socket.destroy();
    this.http.closeAllConnections();
    const tls = this.tls;
    this.tls = undefined;
    if (tls) await new Promise<void>((resolve) => tls.close(() => resolve()));
    await this.mqtt?.close();
    await this.amqpEndpoint.stop();
  }

  /** Fault injection: drops every connection to the hub (devices, service AMQP, REST) at the socket; returns how many. */
  dropConnections(): number {
    const dropped = this.sockets.size;
    for (const socket of this.sockets) socket.destroy();
    return dropped;
  }

  /**
   * One TLS port serves the three protocols, told apart by their first bytes: the AMQP header
   * (`AMQP`), an MQTT CONNECT (0x10), or else HTTP.
   */
  private frontDoor(socket: TLSSocket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.once('readable', () => {
      const first = socket.read() as Buffer | null;
      if (!first) return void socket.destroy();
      socket.unshift(first);
      if (first.subarray(0, 4).toString('latin1') === 'AMQP') {
        const upstream = connectTcp(this.amqpPort, '127.0.0.1');
        socket.pipe(upstream).pipe(socket);
        const end = (): void => {
          socket.destroy();
          upstream.destroy();
        };
        upstream.on('error', end);
        socket.on('error', end);
        upstream.on('close', end);
        socket.on('close', end);
      } else if (first[0] === 0x10) {
        this.mqtt!.handle(socket);
      } else {
        this.http.emit('connection', socket);
      }
    });
  }

  private presence(deviceId: string, connected: boolean): void {
    const device = this.devices.get(deviceId);
    if (!device) return;
    device.connectionState = connected ? 'Connected' : 'Disconnected';
    device.lastActivityTime = Date.now();
  }

  /** `127.0.0.1:<port>`: what the hub's connection strings carry as HostName. */
  get hostName(): string {
    return `127.0.0.1:${this.port}`;
  }

  get serviceConnectionString(): string {
    return `HostName=${this.hostName};SharedAccessKeyName=${this.policy.keyName};SharedAccessKey=${this.policy.key}`;
  }

  deviceConnectionString(deviceId: string): string {
    const device = this.devices.get(deviceId);
    if (!device) throw new Error(`No device ${deviceId}`);
    return `HostName=${this.hostName};DeviceId=${deviceId};SharedAccessKey=${device.primaryKey}`;
  }

  private authorized(request: IncomingMessage): boolean {
    const token = request.headers.authorization ?? '';
    return checkSharedAccessSignature(token, [this.policy], Date.now(), 'base64').ok;
  }

  private async onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!this.authorized(request)) return send(response, 401, { Message: 'ErrorCode:IotHubUnauthorizedAccess;Unauthorized' });
    const url = new URL(request.url ?? '/', 'https://hub');
    const body = await readJson(request);
    const parts = url.pathname
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    const method = request.method ?? 'GET';
    if (parts[0] === 'devices' && parts.length === 1 && method === 'POST') return send(response, ...this.bulk(body));
    if (parts[0] === 'devices' && parts[1] === 'query' && parts.length === 2 && method === 'POST') return this.query(body, request, response);
    if (parts[0] === 'devices' && parts.length === 2) {
      const deviceId = parts[1]!;
      if (method === 'GET')
        return this.devices.has(deviceId) ? send(response, 200, this.deviceJson(this.devices.get(deviceId)!)) : notFound(response, deviceId);
      if (method === 'PUT') return send(response, ...this.putDevice(deviceId, body as JsonObject, request.headers['if-match'] !== undefined));
      if (method === 'DELETE') {
        if (!this.devices.delete(deviceId)) return notFound(response, deviceId);
        return send(response, 204, undefined);
      }
    }
    if (parts[0] === 'twins' && parts.length === 2) {
      const device = this.devices.get(parts[1]!);
      if (!device) return notFound(response, parts[1]!);
      if (method === 'GET') return send(response, 200, this.twinJson(device));
      if (method === 'PATCH') {
        const patch = (body ?? {}) as { tags?: Json; properties?: { desired?: Json } };
        if (patch.tags !== undefined) device.tags = mergePatch(device.tags, patch.tags);
        if (patch.properties?.desired !== undefined) {
          device.desired = mergePatch(device.desired, patch.properties.desired);
          device.desiredVersion += 1;
        }
        this.touch(device);
        return send(response, 200, this.twinJson(device));
      }
    }
    return send(response, 501, { Message: `${method} ${url.pathname} is not implemented by this stand-in.` });
  }

  /**
   * The registry query, for the one query Fieldlink asks (the twins of the enabled, connected
   * devices), paged by `x-ms-max-item-count` with an `x-ms-continuation` token; any other query
   * is refused with 400 naming it.
   */
  private query(body: unknown, request: IncomingMessage, response: ServerResponse): void {
    const sql = typeof (body as { query?: unknown } | undefined)?.query === 'string' ? (body as { query: string }).query : '';
    if (!CONNECTED_QUERY.test(sql.trim()))
      return send(response, 400, {
        Message: `ErrorCode:BadRequest;This stand-in answers only "SELECT * FROM devices WHERE connectionState = 'Connected' AND status = 'enabled'", not ${JSON.stringify(sql)}.`,
      });
    const matching = [...this.devices.values()].filter((d) => d.connectionState === 'Connected' && d.status === 'enabled');
    const start = Number(request.headers['x-ms-continuation'] ?? 0);
    const pageSize = Math.min(Number(request.headers['x-ms-max-item-count'] ?? 100) || 100, 1_000);
    if (!Number.isInteger(start) || start < 0)
      return send(response, 400, { Message: 'ErrorCode:BadRequest;x-ms-continuation is not a token of this stand-in.' });
    const page = matching.slice(start, start + pageSize).map((d) => this.twinJson(d));
    const text = JSON.stringify(page);
    const more = start + pageSize < matching.length;
    response.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...(more ? { 'x-ms-continuation': String(start + pageSize) } : {}),
    });
    response.end(text);
  }

  private putDevice(deviceId: string, body: JsonObject, isUpdate: boolean): [number, unknown] {
    if (!DEVICE_ID.test(deviceId)) return [400, { Message: `ErrorCode:ArgumentInvalid;DeviceId ${deviceId} is invalid.` }];
    const existing = this.devices.get(deviceId);
    if (existing && !isUpdate) return [409, { Message: `ErrorCode:DeviceAlreadyExists;A device with ID '${deviceId}' is already registered.` }];
    if (!existing && isUpdate) return [404, { Message: `ErrorCode:DeviceNotFound;Device ${deviceId} not found.` }];
    const device = existing ?? this.create(deviceId);
    if (body['status'] === 'enabled' || body['status'] === 'disabled') device.status = body['status'];
    this.touch(device);
    return [200, this.deviceJson(device)];
  }

  private create(deviceId: string): StandinDevice {
    const device: StandinDevice = {
      deviceId,
      generationId: randomUUID(),
      etag: '',
      status: 'enabled',
      primaryKey: randomBytes(32).toString('base64'),
      connectionState: 'Disconnected',
      tags: {},
      desired: {},
      reported: {},
      version: 1,
      desiredVersion: 1,
      reportedVersion: 1,
    };
    device.etag = Buffer.from(randomUUID()).toString('base64');
    this.devices.set(deviceId, device);
    return device;
  }

  /** Every change of the twin makes a new version and etag. */
  touch(device: StandinDevice): void {
    device.version += 1;
    device.etag = Buffer.from(randomUUID()).toString('base64');
  }

  private bulk(body: unknown): [number, unknown] {
    if (!Array.isArray(body) || body.length === 0 || body.length > 100)
      return [400, { Message: 'ErrorCode:ArgumentInvalid;the body must be an array of 1 to 100 devices.' }];
    const errors: Array<{ deviceId: string; errorCode: string; errorStatus: string }> = [];
    for (const entry of body as JsonObject[]) {
      const deviceId = String(entry['id'] ?? '');
      const mode = String(entry['importMode'] ?? 'create').toLowerCase();
      if (!DEVICE_ID.test(deviceId)) {
        errors.push({
          deviceId,
          errorCode: 'ArgumentInvalid',
          errorStatus: `DeviceId '${deviceId}' is invalid: at most 128 ASCII letters, digits and -.%_*?!(),:=@$' are allowed.`,
        });
        continue;
      }
      const existing = this.devices.get(deviceId);
      if (mode === 'create') {
        if (existing) {
          errors.push({ deviceId, errorCode: 'DeviceAlreadyExists', errorStatus: `A device with ID '${deviceId}' is already registered.` });
          continue;
        }
        const device = this.create(deviceId);
        if (entry['status'] === 'disabled') device.status = 'disabled';
      } else if (mode === 'update' || mode === 'updateifmatchetag') {
        const device = existing ?? this.create(deviceId);
        if (entry['status'] === 'enabled' || entry['status'] === 'disabled') device.status = entry['status'];
        this.touch(device);
      } else if (mode === 'delete' || mode === 'deleteifmatchetag') {
        if (!this.devices.delete(deviceId)) errors.push({ deviceId, errorCode: 'DeviceNotFound', errorStatus: `Device ${deviceId} not found.` });
      } else {
        errors.push({ deviceId, errorCode: 'ArgumentInvalid', errorStatus: `Import mode '${mode}' is not implemented by this stand-in.` });
      }
    }
    const result = { isSuccessful: errors.length === 0, errors, warnings: [] };
    return [errors.length === 0 ? 200 : 400, result];
  }

  private deviceJson(device: StandinDevice): JsonObject {
    return {
      deviceId: device.deviceId,
      generationId: device.generationId,
      etag: device.etag,
      status: device.status,
      connectionState: device.connectionState,
      lastActivityTime: new Date(device.lastActivityTime ?? 0).toISOString(),
      cloudToDeviceMessageCount: 0,
      authentication: { type: 'sas', symmetricKey: { primaryKey: device.primaryKey, secondaryKey: device.primaryKey } },
    };
  }

  private twinJson(device: StandinDevice): JsonObject {
    return {
      deviceId: device.deviceId,
      etag: device.etag,
      version: device.version,
      status: device.status,
      connectionState: device.connectionState,
      lastActivityTime: new Date(device.lastActivityTime ?? 0).toISOString(),
      tags: device.tags,
      properties: {
        desired: { ...device.desired, $version: device.desiredVersion },
        reported: { ...device.reported, $version: device.reportedVersion },
      },
    };
  }
}

/** RFC 7386 JSON merge patch: objects merge, null removes, anything else replaces. */
export function mergePatch(target: JsonObject, patch: Json): JsonObject {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return target;
  const out: JsonObject = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (typeof value === 'object' && !Array.isArray(value)) {
      const current = out[key];
      out[key] = mergePatch(current !== null && typeof current === 'object' && !Array.isArray(current) ? current : {}, value);
    } else out[key] = value;
  }
  return out;
}

function notFound(response: ServerResponse, deviceId: string): void {
  send(response, 404, { Message: `ErrorCode:DeviceNotFound;Device ${deviceId} not found.`, ExceptionMessage: '' });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}
