import { randomUUID } from 'node:crypto';
import { stepThermostat, type ThermostatSimState } from '@fieldlink/domain';
import { encodeTelemetry, type DeviceTelemetryPort, type LogPort } from '@fieldlink/ports';

export interface SimulatedFleetOptions {
  readonly devices: number;
  /** How many of them drift upwards (a failing unit), from the first. */
  readonly drifting: number;
  readonly intervalMs: number;
  /** Degrees per minute for the drifting ones. */
  readonly driftPerMinute: number;
}

interface SimulatedDevice {
  readonly deviceId: string;
  state: ThermostatSimState;
}

/** Thermostats that send `{"DeviceID","Temperature","Humidity","EventToken"}` on an interval. */
export class SimulatedFleet {
  readonly devices: SimulatedDevice[];
  private timer: NodeJS.Timeout | undefined;
  private sending = false;

  constructor(
    private readonly hub: DeviceTelemetryPort,
    private readonly log: LogPort,
    private readonly options: SimulatedFleetOptions,
  ) {
    this.devices = Array.from({ length: options.devices }, (_, i) => ({
      deviceId: `thermostat-${i + 1}`,
      state: {
        temperature: i < options.drifting ? 68 : 60 + (i % 5),
        humidity: 40 + (i % 7),
        target: 60 + (i % 5),
        driftPerMinute: i < options.drifting ? options.driftPerMinute : 0,
      },
    }));
  }

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.options.intervalMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  async tick(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      for (const device of this.devices) {
        device.state = stepThermostat(device.state, this.options.intervalMs, Math.random() * 2 - 1);
        const message = { DeviceID: device.deviceId, Temperature: device.state.temperature, Humidity: device.state.humidity, EventToken: randomUUID() };
        await this.hub.send(device.deviceId, encodeTelemetry(message));
        if (device.state.driftPerMinute !== 0) this.log.info('device.reading-sent', { correlationId: message.EventToken, deviceId: device.deviceId, temperature: message.Temperature, humidity: message.Humidity });
      }
    } finally {
      this.sending = false;
    }
  }
}
