import { isHubDeviceId } from '@fieldlink/domain';
import {
  DeviceRegistryError,
  type ClockPort,
  type DeviceRegistration,
  type DeviceRegistrationResult,
  type DeviceRegistryPort,
  type DeviceTwin,
  type TwinPatch,
} from '@fieldlink/ports';
import { applyMergePatch, withoutNulls } from './json-merge-patch.js';
import { systemClock } from './system-clock.js';

type MutableTwin = { -readonly [K in keyof DeviceTwin]: DeviceTwin[K] };

/**
 * The hub's identity registry and device twins, in process. Registration is idempotent, twin
 * patches are JSON merge patches, and the device side (connection, activity, reported
 * properties) is kept here too, by the hub that owns this registry.
 */
export class InMemoryDeviceRegistry implements DeviceRegistryPort {
  private readonly twins = new Map<string, MutableTwin>();

  constructor(private readonly clock: ClockPort = systemClock) {}

  async registerDevices(devices: readonly DeviceRegistration[]): Promise<DeviceRegistrationResult[]> {
    return devices.map((d) => this.registerOne(d));
  }

  async updateTwin(deviceId: string, patch: TwinPatch): Promise<DeviceTwin> {
    const twin = this.require(deviceId);
    if (patch.tags !== undefined) twin.tags = applyMergePatch(twin.tags, patch.tags);
    if (patch.desiredProperties !== undefined) twin.desired = applyMergePatch(twin.desired, patch.desiredProperties);
    twin.version++;
    return snapshot(twin);
  }

  async getTwin(deviceId: string): Promise<DeviceTwin | undefined> {
    const twin = this.twins.get(deviceId);
    return twin === undefined ? undefined : snapshot(twin);
  }

  async getTwins(deviceIds: readonly string[]): Promise<DeviceTwin[]> {
    return deviceIds.flatMap((id) => {
      const twin = this.twins.get(id);
      return twin === undefined ? [] : [snapshot(twin)];
    });
  }

  async connectedDeviceIds(): Promise<string[]> {
    return [...this.twins.values()].filter((t) => t.status === 'enabled' && t.connectionState === 'Connected').map((t) => t.deviceId);
  }

  /** Whether a device may connect and be sent messages. */
  isEnabled(deviceId: string): boolean {
    return this.twins.get(deviceId)?.status === 'enabled';
  }

  has(deviceId: string): boolean {
    return this.twins.has(deviceId);
  }

  /** Disables a device: it can no longer connect (what an operator does in the portal). */
  disable(deviceId: string): void {
    const twin = this.require(deviceId);
    twin.status = 'disabled';
    twin.version++;
  }

  setConnectionState(deviceId: string, state: DeviceTwin['connectionState']): void {
    const twin = this.twins.get(deviceId);
    if (twin === undefined) return;
    twin.connectionState = state;
    if (state === 'Connected') twin.lastActivityTime = this.clock.now();
  }

  recordActivity(deviceId: string): void {
    const twin = this.twins.get(deviceId);
    if (twin !== undefined) twin.lastActivityTime = this.clock.now();
  }

  patchReported(deviceId: string, patch: Readonly<Record<string, unknown>>): void {
    const twin = this.require(deviceId);
    twin.reported = applyMergePatch(twin.reported, patch);
    twin.lastActivityTime = this.clock.now();
    twin.version++;
  }

  private registerOne(registration: DeviceRegistration): DeviceRegistrationResult {
    const { deviceId } = registration;
    if (!isHubDeviceId(deviceId)) {
      return {
        deviceId,
        ok: false,
        error: {
          code: 'InvalidDeviceId',
          message: `"${deviceId}" is not an IoT Hub device id (1 to 128 letters, digits or - : . + % _ # * ? ! ( ) , = @ ; $ ').`,
        },
      };
    }
    const existing = this.twins.get(deviceId);
    if (existing !== undefined) {
      existing.status = 'enabled';
      if (registration.tags !== undefined) existing.tags = applyMergePatch(existing.tags, registration.tags);
      if (registration.desiredProperties !== undefined) existing.desired = applyMergePatch(existing.desired, registration.desiredProperties);
      existing.version++;
      return { deviceId, ok: true, existed: true };
    }
    this.twins.set(deviceId, {
      deviceId,
      status: 'enabled',
      connectionState: 'Disconnected',
      tags: withoutNulls(registration.tags ?? {}),
      desired: withoutNulls(registration.desiredProperties ?? {}),
      reported: {},
      version: 1,
    });
    return { deviceId, ok: true, existed: false };
  }

  private require(deviceId: string): MutableTwin {
    const twin = this.twins.get(deviceId);
    if (twin === undefined) throw new DeviceRegistryError('DeviceNotFound', `The hub has no device "${deviceId}".`);
    return twin;
  }
}

const snapshot = (twin: MutableTwin): DeviceTwin => structuredClone(twin);
