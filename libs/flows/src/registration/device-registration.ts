// Flows 16′–18″ (registration): devices created in the hub's registry, the results onto the CRM device.
import { err, isHubDeviceId, ok, RegistrationStatus, type CodedError, type Result } from '@fieldlink/domain';
import {
  alignCommaJoined,
  deviceRecordsNotFound,
  type AmbiguousRegistration,
  type CrmDevicesPort,
  type DeviceRecordsNotFound,
  type DeviceRegistration,
  type DeviceRegistryPort,
  type LogPort,
  type RegistrationResult,
} from '@fieldlink/ports';

/**
 * Each device's result, all written onto their CRM devices; or `DeviceNotFound` naming the device
 * records the CRM does not hold (the other results are written, and the hub registration stands).
 */
export type Registered = Result<RegistrationResult[], DeviceRecordsNotFound>;

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
 * is enabled and updated), so the whole request can run again after a failure. A device record
 * the CRM does not hold when its result is written (a request naming a record that is not there,
 * or one deleted meanwhile) is logged and answered as the `DeviceNotFound` error naming every such
 * record; the others' results are written all the same, and the caller decides what it means.
 */
export class DeviceRegistrations {
  constructor(private readonly deps: DeviceRegistrationsDeps) {}

  async register(devices: readonly DeviceToRegister[], correlationId?: string): Promise<Registered> {
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
    const written = await this.writeResults(results, correlationId);
    for (const r of results) {
      if (!written.ok && written.error.deviceRecordIds.includes(r.deviceRecordId)) continue;
      this.deps.log[r.status === RegistrationStatus.Registered ? 'info' : 'warn']('device.registration', {
        correlationId: correlationId ?? r.deviceRecordId,
        deviceId: r.deviceId,
        deviceRecordId: r.deviceRecordId,
        status: r.status,
        message: r.message,
      });
    }
    return written.ok ? ok(results) : written;
  }

  /** Writes the results onto the CRM devices; each device the CRM does not hold is logged with what its result was. */
  private async writeResults(results: readonly RegistrationResult[], correlationId: string | undefined): Promise<Result<void, DeviceRecordsNotFound>> {
    const written = await this.deps.crm.writeRegistrationResults(results);
    if (!written.ok) {
      for (const r of results.filter((x) => written.error.deviceRecordIds.includes(x.deviceRecordId)))
        this.deps.log.warn('device.registration-unrecorded', {
          correlationId: correlationId ?? r.deviceRecordId,
          deviceId: r.deviceId,
          deviceRecordId: r.deviceRecordId,
          status: r.status,
          reason: `the CRM has no device record ${r.deviceRecordId} to write the result "${r.message}" onto`,
        });
    }
    return written;
  }

  /**
   * Issue: an `msdyn_RegisterIoTDevice` whose device id or name list holds a value with a comma.
   * The record ids still tell the devices apart, so each device is read from the CRM and its
   * `msdyn_deviceid` (and name) located in the lists (`alignCommaJoined`: from the start, then
   * from the end). Each device found there is registered as usual; each other one gets Error on
   * its CRM record naming the cause, and a record the CRM does not have when it is read is only
   * logged (one deleted before its result is written is `DeviceNotFound`, as in `register`).
   */
  async registerAmbiguous(request: AmbiguousRegistration, correlationId?: string): Promise<Registered> {
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
    const missing: string[] = [];
    if (unresolved.length > 0) {
      const written = await this.writeResults(unresolved, correlationId);
      if (!written.ok) missing.push(...written.error.deviceRecordIds);
      for (const r of unresolved.filter((x) => !missing.includes(x.deviceRecordId)))
        this.deps.log.warn('device.registration', {
          correlationId: correlationId ?? r.deviceRecordId,
          deviceId: r.deviceId,
          deviceRecordId: r.deviceRecordId,
          status: r.status,
          message: r.message,
        });
    }
    const registered = toRegister.length === 0 ? ok([]) : await this.register(toRegister, correlationId);
    if (!registered.ok) missing.push(...registered.error.deviceRecordIds);
    return missing.length > 0 ? err(deviceRecordsNotFound(missing)) : ok([...(registered.ok ? registered.value : []), ...unresolved]);
  }

  /** The console's "register": the CRM device record as it is, registered in the hub. */
  async registerCrmDevice(deviceRecordId: string): Promise<Result<RegistrationResult, CodedError<'DeviceNotFound'>>> {
    const device = await this.deps.crm.getDevice(deviceRecordId);
    if (device === undefined) return err({ code: 'DeviceNotFound', message: `No IoT device record with id ${deviceRecordId}` });
    const registered = await this.register([
      {
        deviceRecordId,
        deviceId: device.deviceId,
        name: device.name,
        ...(device.tags === undefined ? {} : { tags: device.tags }),
        ...(device.settings === undefined ? {} : { settings: device.settings }),
      },
    ]);
    // Deleted between the read and the write of its result.
    return registered.ok ? ok(registered.value[0]!) : registered;
  }
}
