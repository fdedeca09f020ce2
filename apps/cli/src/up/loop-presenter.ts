import type { FeedEvent } from '@fieldlink/composition';
import type { LogFields, LogPort, StoredIoTAlert } from '@fieldlink/ports';
import { toMsdynIotAlertRecord } from '@fieldlink/ports';
import type { FleetEvent, ThermostatView } from '@fieldlink/ui-thermostat-simulator';
import { terminalSafe, terminalSafeFields } from '../text/terminal-text.js';

/** Events that are noise in a terminal unless `--verbose`: per-device bookkeeping and retries that heal themselves. */
const QUIET_EVENTS = new Set([
  'device.registration',
  'telemetry.batch-retried',
  'command.ack-ignored',
  'command.feedback-ignored',
  'automation.action-done',
  'crm.alert-exists',
  'dataverse-emulator.listening',
]);

export interface LoopPresenterOptions {
  readonly verbose: boolean;
  /** Reads an alert back from the CRM, to print its record. */
  readonly getAlert: (alertId: string) => Promise<StoredIoTAlert | undefined>;
}

/**
 * What `fieldlink up` prints: the steps of the loop, each tagged with the correlation id of the
 * reading that started it (the flows tag later steps with the alert id; this maps them back), the
 * readings of the thermostats worth watching (drifting, or moving to values a command set), and
 * the alert record as CFS stores it. Calm by design: no per-device bookkeeping, no repeats.
 */
export class LoopPresenter {
  /** alert id or command id → the event token of the reading that started it. */
  private readonly origin = new Map<string, string>();
  /** deviceId → the token of the reading that raised its open alert. */
  private readonly openByDevice = new Map<string, string>();
  private readonly watching = new Set<string>();
  private registered = 0;
  /** Every line goes out terminal-safe: device ids, descriptions and errors can carry what a device or a page sent. */
  private readonly out: LogPort;

  constructor(
    out: LogPort,
    private readonly options: LoopPresenterOptions,
  ) {
    this.out = {
      info: (event, fields) => out.info(terminalSafe(event), fields === undefined ? undefined : terminalSafeFields(fields)),
      warn: (event, fields) => out.warn(terminalSafe(event), fields === undefined ? undefined : terminalSafeFields(fields)),
      error: (event, fields) => out.error(terminalSafe(event), fields === undefined ? undefined : terminalSafeFields(fields)),
    };
  }

  /** A flows event from the feed. */
  onFeedEvent(e: FeedEvent): void {
    const fields = this.correlate(e.fields);
    if (e.event === 'device.registration' && e.level === 'info') this.registered++;
    if (e.event === 'crm.alert-created') void this.printRecord(fields);
    if (e.event === 'device.offline') this.watching.delete(String(fields['deviceId']));
    if (QUIET_EVENTS.has(e.event) && !this.options.verbose) return;
    if (e.event === 'crm.alert-created' && fields['parentAlertId'] === undefined) return; // printed as the record line
    this.out[e.level](e.event, fields);
  }

  /** A device-side event from the simulated fleet. */
  onFleetEvent(e: FleetEvent): void {
    if (e.type === 'device-added' && e.device.driftPerMinute !== 0) this.watching.add(e.device.deviceId);
    if (e.type === 'command-received') this.watching.add(e.deviceId);
    if (e.type !== 'telemetry-sent' || !this.watching.has(e.deviceId)) return;
    this.out.info('device.reading', {
      correlationId: this.openByDevice.get(e.deviceId) ?? e.eventToken,
      deviceId: e.deviceId,
      Temperature: e.temperature,
      Humidity: e.humidity,
    });
  }

  /** After each reading: a device that reached the values a command set is no longer worth watching. */
  onDeviceChanged(device: ThermostatView): void {
    if (!this.watching.has(device.deviceId) || device.lastCommand?.outcome !== 'completed' || device.driftPerMinute !== 0) return;
    if (Math.abs(device.temperature - device.target) <= 0.5) {
      this.watching.delete(device.deviceId);
      const correlationId = this.openByDevice.get(device.deviceId);
      this.openByDevice.delete(device.deviceId);
      this.out.info('device.settled', { correlationId, deviceId: device.deviceId, Temperature: device.temperature, target: device.target });
    }
  }

  /** How many devices the registration flow registered so far. */
  get registeredDevices(): number {
    return this.registered;
  }

  private correlate(fields: LogFields): LogFields {
    const own = typeof fields.correlationId === 'string' ? fields.correlationId : undefined;
    const alertId = typeof fields['alertId'] === 'string' ? fields['alertId'] : undefined;
    const commandId = typeof fields['commandId'] === 'string' ? fields['commandId'] : undefined;
    const root =
      (own !== undefined ? this.origin.get(own) : undefined) ??
      (alertId !== undefined ? this.origin.get(alertId) : undefined) ??
      (commandId !== undefined ? this.origin.get(commandId) : undefined) ??
      own;
    if (root !== undefined) {
      if (alertId !== undefined && !this.origin.has(alertId)) this.origin.set(alertId, root);
      if (commandId !== undefined && !this.origin.has(commandId)) this.origin.set(commandId, root);
      const deviceId = fields['deviceId'];
      if (typeof deviceId === 'string' && !this.openByDevice.has(deviceId) && (fields['ruleOutput'] !== undefined || alertId !== undefined))
        this.openByDevice.set(deviceId, root);
    }
    return root === undefined ? fields : { ...fields, correlationId: root };
  }

  private async printRecord(fields: LogFields): Promise<void> {
    const alertId = fields['alertId'];
    if (typeof alertId !== 'string' || fields['parentAlertId'] !== undefined) return;
    const alert = await this.options.getAlert(alertId);
    if (alert === undefined) return;
    if (alert.parentAlertId !== undefined) {
      this.out.info('crm.alert-created', { ...fields, parentAlertId: alert.parentAlertId });
      return;
    }
    const { msdyn_alertdata: _data, ...record } = toMsdynIotAlertRecord(alert);
    this.out.info('crm.msdyn_iotalert', {
      correlationId: fields.correlationId,
      msdyn_iotalertid: alertId,
      ...record,
      _msdyn_customerasset_value: alert.customerAssetId,
    });
  }
}
