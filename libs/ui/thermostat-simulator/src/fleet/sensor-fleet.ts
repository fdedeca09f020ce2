import { randomUUID } from 'node:crypto';
import { err, isHubDeviceId, ok, validateCommand, type DeviceTypeDefinition, type Result } from '@fieldlink/domain';
import {
  encodeJsonBody,
  silentLog,
  type DeviceClientPort,
  type DeviceConnection,
  type DeviceMessageOutcome,
  type LogPort,
  type ReceivedCloudToDeviceMessage,
} from '@fieldlink/ports';
import { telemetryCommandAcknowledger, type CommandAcknowledger } from './command-acknowledgement.js';
import { alreadyInFleet, fleetError, type FleetError } from './fleet-error.js';
import { HandledMessages } from './handled-messages.js';

/** How one reading of a simulated device moves. */
export interface ReadingSimulation {
  /** The value a healthy device holds. */
  readonly normal: number;
  /** Per minute, how fast the value of a drifting (failing) device climbs from `normal`. */
  readonly driftPerMinute: number;
}

export interface SensorFleetOptions {
  readonly deviceClient: DeviceClientPort;
  /** The device type the devices are: their readings, and the commands they take. */
  readonly deviceType: DeviceTypeDefinition;
  /** Per reading of the type; a reading without one holds 0. */
  readonly simulation: Readonly<Record<string, ReadingSimulation>>;
  /** Milliseconds between two readings of one device (default 1000). */
  readonly intervalMs?: number;
  readonly acknowledge?: CommandAcknowledger;
  readonly newEventToken?: () => string;
  readonly log?: LogPort;
}

/** What a simulated device last did with a command. */
export interface SensorCommand {
  readonly messageId: string;
  readonly name?: string;
  readonly outcome: 'completed' | 'rejected';
  readonly reason?: string;
}

export interface SensorView {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly values: Readonly<Record<string, number>>;
  readonly drifting: boolean;
  readonly lastCommand?: SensorCommand;
}

interface Sensor {
  readonly deviceId: string;
  values: Record<string, number>;
  drifting: boolean;
  link: DeviceConnection | undefined;
  lastCommand: SensorCommand | undefined;
  readonly handled: HandledMessages<DeviceMessageOutcome>;
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

/**
 * Simulated devices of any device type, driven by the type as data: each sends
 * `{"DeviceID", <reading>: value …, "EventToken"}` every interval, a drifting one climbing by its
 * reading's drift per minute. A command is checked against the type's commands (the device's own
 * check, the same the cloud makes); a valid one is completed and answered, and a numeric parameter
 * named after a reading (at any depth, e.g. `{"Pressure": "300"}` or `{"Reading": {"Pressure": "300"}}`)
 * sets that reading and stops the drift; an invalid one is rejected with the reason. A message id
 * handled lately is settled as before and not applied again.
 */
export class SensorFleet {
  private readonly devices = new Map<string, Sensor>();
  private readonly intervalMs: number;
  private readonly acknowledge: CommandAcknowledger;
  private readonly newEventToken: () => string;
  private readonly log: LogPort;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(private readonly options: SensorFleetOptions) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.newEventToken = options.newEventToken ?? randomUUID;
    this.acknowledge = options.acknowledge ?? telemetryCommandAcknowledger(this.newEventToken);
    this.log = options.log ?? silentLog;
  }

  get deviceType(): string {
    return this.options.deviceType.name;
  }

  list(): SensorView[] {
    return [...this.devices.values()].map((s) => this.view(s));
  }

  get(deviceId: string): SensorView | undefined {
    const s = this.devices.get(deviceId);
    return s === undefined ? undefined : this.view(s);
  }

  /** Adds a device and connects it as `deviceId`; `drifting` makes it climb over its thresholds. */
  async addDevice(deviceId: string, drifting = false): Promise<Result<SensorView, FleetError>> {
    if (!isHubDeviceId(deviceId)) return err(fleetError('InvalidDeviceId', 'deviceId', `"${deviceId}" is not an IoT Hub device id`));
    if (this.devices.has(deviceId)) return err(alreadyInFleet(deviceId));
    const values = Object.fromEntries(this.options.deviceType.readings.map((r) => [r, this.options.simulation[r]?.normal ?? 0]));
    const sensor: Sensor = { deviceId, values, drifting, link: undefined, lastCommand: undefined, handled: new HandledMessages() };
    this.devices.set(deviceId, sensor);
    try {
      const link = await this.options.deviceClient.connect(deviceId);
      link.onCloudToDeviceMessage((m) => this.onCommand(sensor, m));
      sensor.link = link;
    } catch (e) {
      this.log.warn('device.connect-failed', { deviceId, error: (e as Error).message });
      return err(fleetError('SendFailed', 'deviceId', `${deviceId}: ${(e as Error).message}`));
    }
    return ok(this.view(sensor));
  }

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.intervalMs);
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await Promise.all(
      [...this.devices.values()].map(async (s) => {
        const link = s.link;
        s.link = undefined;
        await link?.close().catch((e: unknown) => this.log.warn('device.close-failed', { deviceId: s.deviceId, error: (e as Error).message }));
      }),
    );
  }

  /** One step of every device: move its readings by `elapsedMs`, then send one reading. */
  tick(elapsedMs = this.intervalMs): Promise<void> {
    this.ticking ??= this.runTick(elapsedMs).finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async runTick(elapsedMs: number): Promise<void> {
    for (const s of [...this.devices.values()]) {
      if (s.drifting) {
        for (const r of this.options.deviceType.readings)
          s.values[r] = round1(s.values[r]! + ((this.options.simulation[r]?.driftPerMinute ?? 0) * elapsedMs) / 60_000);
      }
      if (s.link === undefined) continue;
      try {
        await s.link.sendTelemetry(encodeJsonBody({ DeviceID: s.deviceId, ...s.values, EventToken: this.newEventToken() }), { messageType: 'telemetry' });
      } catch (e) {
        this.log.warn('device.send-failed', { deviceId: s.deviceId, error: (e as Error).message });
      }
    }
  }

  private async onCommand(s: Sensor, message: ReceivedCloudToDeviceMessage): Promise<DeviceMessageOutcome> {
    const settled = s.handled.get(message.messageId);
    if (settled !== undefined) return settled;
    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(message.body));
    } catch {
      payload = undefined;
    }
    const checked = validateCommand(this.options.deviceType, payload);
    const name =
      typeof (payload as { CommandName?: unknown } | undefined)?.CommandName === 'string' ? (payload as { CommandName: string }).CommandName : undefined;
    let command: SensorCommand;
    if (checked.ok) {
      const set = readingsIn(checked.value.Parameters, new Set(this.options.deviceType.readings));
      if (Object.keys(set).length > 0) {
        Object.assign(s.values, set);
        s.drifting = false;
      }
      command = { messageId: message.messageId, name: checked.value.CommandName, outcome: 'completed' };
      this.log.info('device.command-completed', {
        correlationId: message.correlationId,
        deviceId: s.deviceId,
        command: checked.value.CommandName,
        messageId: message.messageId,
      });
    } else {
      const reason = checked.error.map((i) => `${i.path}: ${i.message}`).join('; ');
      command = { messageId: message.messageId, ...(name === undefined ? {} : { name }), outcome: 'rejected', reason };
      this.log.warn('device.command-rejected', { correlationId: message.correlationId, deviceId: s.deviceId, messageId: message.messageId, reason });
    }
    s.lastCommand = command;
    const outcome: DeviceMessageOutcome = command.outcome === 'completed' ? 'complete' : 'reject';
    s.handled.remember(message.messageId, outcome);
    try {
      if (s.link !== undefined) {
        await this.acknowledge(s.link, {
          deviceId: s.deviceId,
          messageId: message.messageId,
          ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }),
          ...(command.name === undefined ? {} : { commandName: command.name }),
          outcome: command.outcome,
          ...(command.reason === undefined ? {} : { reason: command.reason }),
          at: Date.now(),
        });
      }
    } catch (e) {
      this.log.warn('device.acknowledge-failed', { correlationId: message.correlationId, deviceId: s.deviceId, error: (e as Error).message });
    }
    return outcome;
  }

  private view(s: Sensor): SensorView {
    return {
      deviceId: s.deviceId,
      deviceType: this.options.deviceType.name,
      values: { ...s.values },
      drifting: s.drifting,
      ...(s.lastCommand === undefined ? {} : { lastCommand: s.lastCommand }),
    };
  }
}

/** Numeric parameters named after a reading, at any depth (CFS numbers travel as strings). */
function readingsIn(value: unknown, readings: ReadonlySet<string>, out: Record<string, number> = {}): Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (readings.has(k) && Number.isFinite(n)) out[k] = n;
    else readingsIn(v, readings, out);
  }
  return out;
}
