import type { Agent } from 'node:https';
import type { TokenCredential } from '@azure/identity';
import iothub, { type Registry } from 'azure-iothub';
import {
  DeviceRegistryError,
  type DeviceRegistration,
  type DeviceRegistrationResult,
  type DeviceRegistryPort,
  type DeviceTwin,
  type TwinPatch,
} from '@fieldlink/ports';
import { redact, scrubbedCause, secretsOf } from './azure-auth.js';

// azure-iothub is CommonJS whose exports Node's ESM loader cannot list: its values come through the default import.

/** The hub's service side: its `iothubowner`-style connection string, or host name and credential. */
export type IotHubAuth = { readonly connectionString: string } | { readonly hostName: string; readonly credential: TokenCredential };

export interface IotHubRegistryOptions {
  readonly auth: IotHubAuth;
  /**
   * The HTTPS agent for the registry's REST calls, e.g. one that goes through a proxy, trusts a
   * private CA, or reaches a hub whose host name carries a port (Node cannot connect to
   * `host:port` given as a host by itself).
   */
  readonly httpsAgent?: Agent;
  /** How many twin calls run at once. */
  readonly concurrency?: number;
}

interface HubTwinJson {
  readonly deviceId: string;
  readonly version?: number;
  readonly status?: string;
  readonly connectionState?: string;
  readonly lastActivityTime?: string;
  readonly tags?: Record<string, unknown>;
  readonly properties?: { readonly desired?: Record<string, unknown>; readonly reported?: Record<string, unknown> };
}

const BULK_LIMIT = 100;
const CONNECTED_DEVICES_QUERY = "SELECT * FROM devices WHERE connectionState = 'Connected' AND status = 'enabled'";
/** The hub returns at most 1,000 twins per page, however many are asked. */
const QUERY_PAGE_SIZE = 1_000;

/**
 * DeviceRegistryPort on the IoT hub's identity registry (azure-iothub Registry): devices are
 * created in bulk and enabled (a device that exists is enabled again), tags and desired
 * properties are applied as a twin merge patch, one result per device.
 */
export class IotHubRegistry implements DeviceRegistryPort {
  private readonly registry: Registry;
  private readonly secrets: string[];
  private readonly concurrency: number;

  constructor(options: IotHubRegistryOptions) {
    const auth = options.auth;
    this.secrets = 'connectionString' in auth ? secretsOf(auth.connectionString) : [];
    this.concurrency = options.concurrency ?? 8;
    try {
      this.registry =
        'connectionString' in auth
          ? iothub.Registry.fromConnectionString(auth.connectionString)
          : iothub.Registry.fromTokenCredential(auth.hostName, auth.credential);
    } catch (error) {
      throw this.error('Unavailable', 'The IoT hub registry connection is misconfigured', error);
    }
    if (options.httpsAgent) {
      // The SDK keeps its REST client private; its options are where an agent goes.
      const rest = (this.registry as unknown as { _restApiClient?: { setOptions?(o: unknown): void } })._restApiClient;
      rest?.setOptions?.({ http: { agent: options.httpsAgent } });
    }
  }

  async registerDevices(devices: readonly DeviceRegistration[]): Promise<DeviceRegistrationResult[]> {
    const results = new Map<number, DeviceRegistrationResult>();
    for (let start = 0; start < devices.length; start += BULK_LIMIT) {
      const chunk = devices.slice(start, start + BULK_LIMIT);
      const failures = await this.bulkCreate(chunk.map((d) => d.deviceId));
      await this.forEach(chunk, async (device, i) => {
        const failure = failures.get(device.deviceId);
        const existed = failure?.errorCode === 'DeviceAlreadyExists';
        if (failure && !existed) {
          // A bulk create names only device ids, so the argument the hub finds invalid is the id
          // (`ArgumentInvalid`, https://learn.microsoft.com/azure/iot-hub/troubleshoot-error-codes).
          const code = failure.errorCode === 'ArgumentInvalid' ? 'InvalidDeviceId' : 'Refused';
          results.set(start + i, { deviceId: device.deviceId, ok: false, error: { code, message: `${failure.errorCode}: ${failure.errorStatus}` } });
          return;
        }
        try {
          if (existed) await this.registry.update({ deviceId: device.deviceId, status: 'enabled' });
          if (device.tags !== undefined || device.desiredProperties !== undefined) {
            await this.patchTwin(device.deviceId, {
              ...(device.tags ? { tags: device.tags } : {}),
              ...(device.desiredProperties ? { desiredProperties: device.desiredProperties } : {}),
            });
          }
          results.set(start + i, { deviceId: device.deviceId, ok: true, existed });
        } catch (error) {
          results.set(start + i, { deviceId: device.deviceId, ok: false, error: { code: codeOf(error), message: this.message(error) } });
        }
      });
    }
    return devices.map((_, i) => results.get(i)!);
  }

  /**
   * The device's own connection string, from its primary key in the registry: what a simulated
   * device connects with (IotHubDeviceClient's `connectionStringFor`). Undefined for an unknown device.
   */
  async deviceConnectionString(deviceId: string, hostName: string): Promise<string | undefined> {
    try {
      const { responseBody } = await this.registry.get(deviceId);
      const key = (responseBody as { authentication?: { symmetricKey?: { primaryKey?: string } } }).authentication?.symmetricKey?.primaryKey;
      return key ? `HostName=${hostName};DeviceId=${deviceId};SharedAccessKey=${key}` : undefined;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw this.error(codeOf(error), `Reading the identity of device '${deviceId}' failed`, error);
    }
  }

  async updateTwin(deviceId: string, patch: TwinPatch): Promise<DeviceTwin> {
    return this.patchTwin(deviceId, patch);
  }

  async getTwin(deviceId: string): Promise<DeviceTwin | undefined> {
    try {
      const { responseBody } = await this.registry.getTwin(deviceId);
      return toDeviceTwin(twinJson(responseBody));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw this.error(codeOf(error), `Reading the twin of device '${deviceId}' failed`, error);
    }
  }

  async getTwins(deviceIds: readonly string[]): Promise<DeviceTwin[]> {
    const twins: Array<DeviceTwin | undefined> = [];
    await this.forEach(deviceIds, async (deviceId, i) => {
      twins[i] = await this.getTwin(deviceId);
    });
    return twins.filter((t): t is DeviceTwin => t !== undefined);
  }

  /** The registry query `SELECT * FROM devices WHERE connectionState = 'Connected' AND status = 'enabled'`, page by page. */
  async connectedDeviceIds(): Promise<string[]> {
    const ids: string[] = [];
    try {
      const query = this.registry.createQuery(CONNECTED_DEVICES_QUERY, QUERY_PAGE_SIZE);
      while (query.hasMoreResults) {
        // The promise form of next() without a token starts over; the token of the last page is passed explicitly.
        const { result } = await query.next(query.continuationToken);
        for (const twin of (typeof result === 'string' ? JSON.parse(result) : result) as Array<{ deviceId?: unknown }>)
          if (typeof twin.deviceId === 'string') ids.push(twin.deviceId);
      }
    } catch (error) {
      throw this.error(codeOf(error), 'Querying the connected devices failed', error);
    }
    return ids;
  }

  private async patchTwin(deviceId: string, patch: TwinPatch): Promise<DeviceTwin> {
    const body: Record<string, unknown> = {};
    if (patch.tags !== undefined) body['tags'] = patch.tags;
    if (patch.desiredProperties !== undefined) body['properties'] = { desired: patch.desiredProperties };
    try {
      const { responseBody } = await this.registry.updateTwin(deviceId, body, '*');
      return toDeviceTwin(twinJson(responseBody));
    } catch (error) {
      throw this.error(codeOf(error), `Patching the twin of device '${deviceId}' failed`, error);
    }
  }

  /** Creates devices in one bulk call; answers the devices the hub refused, and why. */
  private async bulkCreate(deviceIds: readonly string[]): Promise<Map<string, { errorCode: string; errorStatus: string }>> {
    const failures = new Map<string, { errorCode: string; errorStatus: string }>();
    let result: Registry.BulkRegistryOperationResult | undefined;
    try {
      result = (await this.registry.addDevices(deviceIds.map((deviceId) => ({ deviceId, status: 'enabled' })))).responseBody;
    } catch (error) {
      // The hub answers 400 when any device failed, with the per-device result in the body.
      result = bulkResultOf(error);
      if (!result) throw this.error(codeOf(error), `Registering ${deviceIds.length} device(s) failed`, error);
    }
    for (const e of result.errors ?? []) failures.set(e.deviceId, { errorCode: String(e.errorCode), errorStatus: e.errorStatus });
    return failures;
  }

  private async forEach<T>(items: readonly T[], run: (item: T, index: number) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const index = next++;
        await run(items[index]!, index);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, items.length) }, worker));
  }

  private message(error: unknown): string {
    const base = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return redact(base, this.secrets);
  }

  private error(code: DeviceRegistryError['code'], what: string, error: unknown): DeviceRegistryError {
    return new DeviceRegistryError(code, redact(`${what}: ${this.message(error)}`, this.secrets), { cause: scrubbedCause(error, this.secrets) });
  }
}

function statusOf(error: unknown): number | undefined {
  const response = (error as { response?: { statusCode?: number } } | undefined)?.response;
  return response?.statusCode;
}

function codeOf(error: unknown): DeviceRegistryError['code'] {
  const status = statusOf(error);
  const name = error instanceof Error ? error.name : '';
  if (status === 404 || name === 'DeviceNotFoundError') return 'DeviceNotFound';
  if (status === 429 || name === 'ThrottlingError') return 'Throttled';
  if (status === 400 || name === 'ArgumentError') return 'InvalidDeviceId';
  return 'Unavailable';
}

function bulkResultOf(error: unknown): Registry.BulkRegistryOperationResult | undefined {
  const body = (error as { responseBody?: unknown } | undefined)?.responseBody;
  try {
    const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as Registry.BulkRegistryOperationResult | undefined;
    return parsed && Array.isArray(parsed.errors) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function twinJson(body: unknown): HubTwinJson {
  return (typeof body === 'string' ? JSON.parse(body) : body) as HubTwinJson;
}

/** The twin without the hub's bookkeeping keys (`$metadata`, `$version`). */
function withoutMetadata(properties: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(properties ?? {})) if (!key.startsWith('$')) out[key] = value;
  return out;
}

function toDeviceTwin(twin: HubTwinJson): DeviceTwin {
  const lastActivity = twin.lastActivityTime ? Date.parse(twin.lastActivityTime) : NaN;
  return {
    deviceId: twin.deviceId,
    status: twin.status === 'disabled' ? 'disabled' : 'enabled',
    connectionState: twin.connectionState === 'Connected' ? 'Connected' : 'Disconnected',
    // The hub reports 0001-01-01 for a device it never saw.
    ...(Number.isFinite(lastActivity) && lastActivity > 0 ? { lastActivityTime: lastActivity } : {}),
    tags: twin.tags ?? {},
    desired: withoutMetadata(twin.properties?.desired),
    reported: withoutMetadata(twin.properties?.reported),
    version: twin.version ?? 0,
  };
}
