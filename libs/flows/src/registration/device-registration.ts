// Flows 16′–18″ (registration): devices created in the hub's registry, the results onto the CRM device.
import { err, isHubDeviceId, ok, RegistrationStatus, type CodedError, type Result } from '@fieldlink/domain';
import {
  alignCommaJoined,
  type AmbiguousRegistration,
  type CrmDevicesPort,
  type DeviceRegistration,
  type DeviceRegistryPort,
  type LogPort,
  type RegistrationResult,
} from '@fieldlink/ports';

/** One device to register: its hub id, its CRM record, and what its twin should carry. */
export interface DeviceToRegister {
  readonly deviceRecordId: string;
  readonly deviceId: string;
  readonly name?: string;
  readonly tags?: Readonly<Record<string, unknown>>;
  readonly settings?: Readonly<Record<string, unknown>>;
}

export interface DeviceRegistrationsDeps {
  readonly crm: CrmDevicesPort;
  readonly registry: DeviceRegistryPort;
  readonly log: LogPort;
}

/**
 * Flows 16′–18″: devices are created enabled in the hub's registry with their tags and desired
 * properties (settings), and each one's result goes back onto its CRM device: Registered, or
 * Error with the message; `msdyn_deviceid` is written too. A device id the hub would refuse is
 * answered with Error without asking the hub. Registration is idempotent (a device that exists
 * is enabled and updated), so the whole request can run again after a failure.
 */
export class DeviceRegistrations {
  constructor(private readonly deps: DeviceRegistrationsDeps) {}

  async register(devices: readonly DeviceToRegister[], correlationId?: string): Promise<RegistrationResult[]> {
    const valid = devices.filter((d) => isHubDeviceId(d.deviceId));
    const registrations: DeviceRegistration[] = valid.map((d) => ({
      deviceId: d.deviceId,
      ...(d.tags === undefined ? {} : { tags: d.tags }),
      ...(d.settings === undefined ? {} : { desiredProperties: d.settings }),
    }));
    const answers = registrations.length === 0 ? [] : await this.deps.registry.registerDevices(registrations);
    const byDevice = new Map(answers.map((a) => [a.deviceId, a]));
    const results: RegistrationResult[] = devices.map((d) => {
      if (!isHubDeviceId(d.deviceId)) {
        return {
          deviceRecordId: d.deviceRecordId,
          deviceId: d.deviceId,
          status: RegistrationStatus.Error,
          message: `"${d.deviceId}" is not a valid IoT Hub device id (1–128 letters, digits or - : . + % _ # * ? ! ( ) , = @ ; $ ')`,
        };
      }
      const answer = byDevice.get(d.deviceId);
      if (answer === undefined)
        return {
          deviceRecordId: d.deviceRecordId,
          deviceId: d.deviceId,
          status: RegistrationStatus.Error,
          message: 'The device registry gave no result for this device',
        };
      if (!answer.ok)
        return {
          deviceRecordId: d.deviceRecordId,
          deviceId: d.deviceId,
          status: RegistrationStatus.Error,
          message: `${answer.error.code}: ${answer.error.message}`,
        };
      return {
        deviceRecordId: d.deviceRecordId,
        deviceId: d.deviceId,
        status: RegistrationStatus.Registered,
        message: answer.existed ? 'Registered (the device existed; enabled and updated)' : 'Registered',
      };
    });
    await this.deps.crm.writeRegistrationResults(results);
    for (const r of results) {
      this.deps.log[r.status === RegistrationStatus.Registered ? 'info' : 'warn']('device.registration', {
        correlationId: correlationId ?? r.deviceRecordId,
        deviceId: r.deviceId,
        deviceRecordId: r.deviceRecordId,
        status: r.status,
        message: r.message,
      });
    }
    return results;
  }

  /**
   * Issue: an `msdyn_RegisterIoTDevice` whose device id or name list holds a value with a comma.
   * The record ids still tell the devices apart, so each device is read from the CRM and its
   * `msdyn_deviceid` (and name) located in the lists (`alignCommaJoined`: from the start, then
   * from the end). Each device found there is registered as usual; each other one gets Error on
   * its CRM record naming the cause, and a record the CRM does not have is only logged.
   */
  async registerAmbiguous(request: AmbiguousRegistration, correlationId?: string): Promise<RegistrationResult[]> {
    const records = await Promise.all(request.deviceRecordIds.map((id) => this.deps.crm.getDevice(id)));
    const deviceIds = alignCommaJoined(
      request.deviceIdsText,
      records.map((r) => r?.deviceId),
    );
    const names =
      request.namesText === undefined
        ? undefined
        : alignCommaJoined(
            request.namesText,
            records.map((r) => r?.name),
          );
    const lists = request.mismatched.map((m) => `${m.parameter} holds ${m.values} values for ${request.deviceRecordIds.length} devices`).join(' and ');
    const toRegister: DeviceToRegister[] = [];
    const unresolved: RegistrationResult[] = [];
    request.deviceRecordIds.forEach((deviceRecordId, i) => {
      const record = records[i];
      const deviceId = deviceIds[i];
      if (record === undefined) {
        this.deps.log.warn('device.registration-unresolved', {
          correlationId: correlationId ?? deviceRecordId,
          deviceRecordId,
          reason: `${lists}, and the CRM has no device record ${deviceRecordId}`,
        });
        return;
      }
      if (deviceId === undefined) {
        unresolved.push({
          deviceRecordId,
          deviceId: record.deviceId,
          status: RegistrationStatus.Error,
          message: `Not registered: the request's ${lists} (a device id or name contains a comma), and this device's id "${record.deviceId}" could not be located in DeviceIds. Register it on its own.`,
        });
        return;
      }
      const name = names?.[i];
      const t = request.tags?.[i];
      const st = request.settings?.[i];
      toRegister.push({
        deviceRecordId,
        deviceId,
        ...(name === undefined ? {} : { name }),
        ...(t === undefined ? {} : { tags: t }),
        ...(st === undefined ? {} : { settings: st }),
      });
    });
    if (unresolved.length > 0) {
      await this.deps.crm.writeRegistrationResults(unresolved);
      for (const r of unresolved)
        this.deps.log.warn('device.registration', {
          correlationId: correlationId ?? r.deviceRecordId,
          deviceId: r.deviceId,
          deviceRecordId: r.deviceRecordId,
          status: r.status,
          message: r.message,
        });
    }
    const registered = toRegister.length === 0 ? [] : await this.register(toRegister, correlationId);
    return [...registered, ...unresolved];
  }

  /** The console's "register": the CRM device record as it is, registered in the hub. */
  async registerCrmDevice(deviceRecordId: string): Promise<Result<RegistrationResult, CodedError<'DeviceNotFound'>>> {
    const device = await this.deps.crm.getDevice(deviceRecordId);
    if (device === undefined) return err({ code: 'DeviceNotFound', message: `No IoT device record with id ${deviceRecordId}` });
    const [result] = await this.register([
      {
        deviceRecordId,
        deviceId: device.deviceId,
        name: device.name,
        ...(device.tags === undefined ? {} : { tags: device.tags }),
        ...(device.settings === undefined ? {} : { settings: device.settings }),
      },
    ]);
    return ok(result!);
  }
}
