import { randomUUID } from 'node:crypto';
import { err, isHubDeviceId, ok, type Result } from '@fieldlink/domain';
import {
  encodeJsonBody,
  encodeTelemetry,
  silentLog,
  type ClockPort,
  type DeviceClientPort,
  type DeviceMessageOutcome,
  type LogPort,
  type ReceivedCloudToDeviceMessage,
} from '@fieldlink/ports';
import { telemetryCommandAcknowledger, type CommandAcknowledger } from './command-acknowledgement.js';
import { alreadyInFleet, fleetError, notInFleet, type FleetError } from './fleet-error.js';
import { applyCommand, commandNameOf, newThermostat, round1, stepUnit, toView, type Thermostat } from './simulated-thermostat.js';
import { describeIssue, parseThermostatCommand } from './thermostat-command.js';
import type { FleetEvent, FleetListener, ReceivedCommand, ThermostatDefaults, ThermostatView } from './thermostat-view.js';

export interface ThermostatFleetOptions {
  readonly deviceClient: DeviceClientPort;
  /** Milliseconds between two readings of one thermostat (default 1000). */
  readonly intervalMs?: number;
  /** Milliseconds between two heartbeats of one thermostat; 0 sends none (default 30,000). */
  readonly heartbeatIntervalMs?: number;
  /** Degrees (and humidity points) per minute a thermostat moves towards values set by Set Values (default 60). */
  readonly approachPerMinute?: number;
  readonly defaults?: Partial<ThermostatDefaults>;
  /** How the thermostat answers a command; by default the Fieldlink `CommandAck` telemetry message. */
  readonly acknowledge?: CommandAcknowledger | undefined;
  readonly clock?: ClockPort;
  /** Uniform in [0, 1): the noise of the readings. */
  readonly random?: () => number;
  readonly newEventToken?: () => string;
  readonly log?: LogPort;
  /** How many handled cloud-to-device message ids each thermostat remembers, to drop a message that comes again (default 100). */
  readonly rememberedMessages?: number;
}

export const DEFAULT_THERMOSTAT: ThermostatDefaults = { temperature: 62, humidity: 45, target: 62, driftPerMinute: 0 };

const BODY_KEPT = 500;

/**
 * The device side of the thermostat simulator, headless: N thermostats, each connected through
 * the DeviceClientPort as itself, sending `{"DeviceID","Temperature","Humidity","EventToken"}`
 * every interval and a heartbeat, and answering the CFS thermostat commands (Reset Thermostat,
 * Notification, Set Values): valid ones are completed, invalid ones rejected with a reason. A
 * message id a thermostat handled lately is settled as before and neither applied nor answered
 * again (the hub delivers at least once; the cloud may send a command twice under one id).
 * Everything a page shows comes from `list()` and the events of `subscribe()`.
 */
export class ThermostatFleet {
  private readonly devices = new Map<string, Thermostat>();
  private readonly listeners = new Set<FleetListener>();
  private readonly intervalMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly approachPerMinute: number;
  private readonly defaults: ThermostatDefaults;
  private readonly acknowledge: CommandAcknowledger;
  private readonly clock: ClockPort;
  private readonly random: () => number;
  private readonly newEventToken: () => string;
  private readonly log: LogPort;
  private readingTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(private readonly options: ThermostatFleetOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 30_000;
    this.approachPerMinute = options.approachPerMinute ?? 60;
    this.defaults = { ...DEFAULT_THERMOSTAT, ...options.defaults };
    this.newEventToken = options.newEventToken ?? randomUUID;
    this.acknowledge = options.acknowledge ?? telemetryCommandAcknowledger(this.newEventToken);
    this.clock = options.clock ?? { now: () => Date.now() };
    this.random = options.random ?? Math.random;
    this.log = options.log ?? silentLog;
  }

  // ---- reading the fleet ----

  list(): ThermostatView[] {
    return [...this.devices.values()].map(toView);
  }

  get(deviceId: string): ThermostatView | undefined {
    const t = this.devices.get(deviceId);
    return t === undefined ? undefined : toView(t);
  }

  get size(): number {
    return this.devices.size;
  }

  /** Every change of the fleet, for a page or a log; returns the unsubscribe function. */
  subscribe(listener: FleetListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  // ---- changing the fleet ----

  /** Adds a thermostat and connects it as `deviceId`. A connection failure leaves it in the fleet, `failed`, with the reason. */
  async addDevice(deviceId: string, values: Partial<ThermostatDefaults> = {}): Promise<Result<ThermostatView, FleetError>> {
    if (!isHubDeviceId(deviceId))
      return err(
        fleetError('InvalidDeviceId', 'deviceId', `"${deviceId}" is not an IoT Hub device id (1–128 letters, digits or - : . + % _ # * ? ! ( ) , = @ ; $ ')`),
      );
    if (this.devices.has(deviceId)) return err(alreadyInFleet(deviceId));
    const defaults: ThermostatDefaults = { ...this.defaults, ...values };
    for (const [key, value] of Object.entries(defaults)) if (!Number.isFinite(value)) return err(fleetError('InvalidValue', key, 'expected a finite number'));
    const t = newThermostat(deviceId, defaults, this.options.rememberedMessages);
    this.devices.set(deviceId, t);
    this.emit({ type: 'device-added', device: toView(t) });
    await this.connect(t);
    return ok(toView(t));
  }

  /** Closes the device's connection and forgets it. */
  async removeDevice(deviceId: string): Promise<Result<void, FleetError>> {
    const t = this.devices.get(deviceId);
    if (t === undefined) return err(notInFleet(deviceId));
    t.removed = true;
    this.devices.delete(deviceId);
    await this.closeLink(t);
    this.emit({ type: 'device-removed', deviceId });
    return ok(undefined);
  }

  /** Tries again to connect a device whose connection failed or was closed. */
  async reconnect(deviceId: string): Promise<Result<ThermostatView, FleetError>> {
    const t = this.devices.get(deviceId);
    if (t === undefined) return err(notInFleet(deviceId));
    if (t.connection === 'connected' || t.connection === 'connecting') return ok(toView(t));
    await this.connect(t);
    return ok(toView(t));
  }

  /** Moves the temperature at once by `degrees` (e.g. +10 to cross the threshold by hand). */
  nudge(deviceId: string, degrees: number): Result<ThermostatView, FleetError> {
    if (!Number.isFinite(degrees)) return err(fleetError('InvalidValue', 'degrees', 'expected a finite number'));
    return this.change(deviceId, (t) => {
      t.state = { ...t.state, temperature: round1(t.state.temperature + degrees) };
    });
  }

  /** Degrees per minute the thermostat drifts by (0 to stop; a drifting unit ignores its target). */
  setDrift(deviceId: string, perMinute: number): Result<ThermostatView, FleetError> {
    if (!Number.isFinite(perMinute)) return err(fleetError('InvalidValue', 'perMinute', 'expected a finite number'));
    return this.change(deviceId, (t) => {
      t.approaching = false;
      t.state = { ...t.state, driftPerMinute: perMinute };
    });
  }

  /** A paused thermostat sends nothing (it still receives commands), so the cloud sees it go offline. */
  setPaused(deviceId: string, paused: boolean): Result<ThermostatView, FleetError> {
    return this.change(deviceId, (t) => {
      t.paused = paused;
    });
  }

  // ---- running ----

  /** Sends readings every interval and heartbeats every heartbeat interval, until `stop()`. */
  start(): void {
    this.readingTimer ??= setInterval(() => void this.tick(), this.intervalMs);
    if (this.heartbeatIntervalMs > 0) this.heartbeatTimer ??= setInterval(() => void this.sendHeartbeats(), this.heartbeatIntervalMs);
  }

  /** Stops the timers and waits for a send in progress; connections stay open. */
  async stop(): Promise<void> {
    if (this.readingTimer !== undefined) clearInterval(this.readingTimer);
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.readingTimer = this.heartbeatTimer = undefined;
    await this.ticking;
  }

  /** Stops and closes every connection. */
  async close(): Promise<void> {
    await this.stop();
    await Promise.all([...this.devices.values()].map((t) => this.closeLink(t)));
  }

  /** One step of every thermostat: move the readings by `elapsedMs`, then send one reading each (paused and unconnected ones skip). */
  tick(elapsedMs = this.intervalMs): Promise<void> {
    // One tick at a time: a slow hub delays the next reading instead of piling them up.
    if (this.ticking !== undefined) return this.ticking;
    this.ticking = this.runTick(elapsedMs).finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** Sends one reading of one thermostat now, without moving its readings (the load mode uses it). */
  async sendReading(deviceId: string): Promise<Result<string, FleetError>> {
    const t = this.devices.get(deviceId);
    if (t === undefined) return err(notInFleet(deviceId));
    return this.sendTelemetry(t);
  }

  async sendHeartbeats(): Promise<void> {
    for (const t of [...this.devices.values()]) {
      if (t.paused || t.link === undefined) continue;
      const body = encodeJsonBody({ DeviceID: t.deviceId, EventToken: this.newEventToken() });
      try {
        await t.link.sendTelemetry(body, { messageType: 'heartbeat' });
        t.lastSentAt = this.clock.now();
        this.emit({ type: 'heartbeat-sent', deviceId: t.deviceId });
      } catch (e) {
        this.sendFailed(t, e);
      }
    }
  }

  private async runTick(elapsedMs: number): Promise<void> {
    for (const t of [...this.devices.values()]) {
      if (t.removed) continue;
      stepUnit(t, elapsedMs, this.random() * 2 - 1, this.approachPerMinute);
      if (!t.paused && t.link !== undefined) await this.sendTelemetry(t);
      this.emit({ type: 'device-changed', device: toView(t) });
    }
  }

  private async sendTelemetry(t: Thermostat): Promise<Result<string, FleetError>> {
    if (t.link === undefined) return err(fleetError('NotConnected', 'deviceId', `${t.deviceId} is not connected`));
    const eventToken = this.newEventToken();
    const { temperature, humidity } = t.state;
    try {
      await t.link.sendTelemetry(encodeTelemetry({ DeviceID: t.deviceId, Temperature: temperature, Humidity: humidity, EventToken: eventToken }), {
        messageType: 'telemetry',
      });
    } catch (e) {
      this.sendFailed(t, e);
      return err(fleetError('SendFailed', 'deviceId', (e as Error).message));
    }
    t.telemetrySent++;
    t.lastSentAt = this.clock.now();
    this.emit({ type: 'telemetry-sent', deviceId: t.deviceId, eventToken, temperature, humidity });
    return ok(eventToken);
  }

  private sendFailed(t: Thermostat, e: unknown): void {
    const error = (e as Error).message;
    this.log.warn('device.send-failed', { deviceId: t.deviceId, error });
    this.emit({ type: 'send-failed', deviceId: t.deviceId, error });
  }

  private async connect(t: Thermostat): Promise<void> {
    t.connection = 'connecting';
    t.connectionError = undefined;
    try {
      const link = await this.options.deviceClient.connect(t.deviceId);
      if (t.removed) {
        await link.close();
        return;
      }
      link.onCloudToDeviceMessage((message) => this.onCommand(t, message));
      t.link = link;
      t.connection = 'connected';
    } catch (e) {
      t.connection = 'failed';
      t.connectionError = (e as Error).message;
      this.log.warn('device.connect-failed', { deviceId: t.deviceId, error: t.connectionError });
    }
    if (!t.removed) this.emit({ type: 'device-changed', device: toView(t) });
  }

  private async closeLink(t: Thermostat): Promise<void> {
    const link = t.link;
    t.link = undefined;
    t.connection = 'disconnected';
    try {
      await link?.close();
    } catch (e) {
      this.log.warn('device.close-failed', { deviceId: t.deviceId, error: (e as Error).message });
    }
  }

  private async onCommand(t: Thermostat, message: ReceivedCloudToDeviceMessage): Promise<DeviceMessageOutcome> {
    const settled = t.handled.get(message.messageId);
    if (settled !== undefined) {
      this.log.info('device.command-duplicate', { correlationId: message.correlationId, deviceId: t.deviceId, messageId: message.messageId, settled });
      return settled;
    }
    const receivedAt = this.clock.now();
    const parsed = parseThermostatCommand(message.body);
    const body = new TextDecoder().decode(message.body).slice(0, BODY_KEPT);
    const base = { messageId: message.messageId, ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }), body, receivedAt };
    let command: ReceivedCommand;
    if (parsed.ok) {
      applyCommand(t, parsed.value, receivedAt, this.approachPerMinute);
      command = { ...base, name: parsed.value.name, outcome: 'completed' };
      this.log.info('device.command-completed', {
        correlationId: message.correlationId,
        deviceId: t.deviceId,
        command: parsed.value.name,
        messageId: message.messageId,
      });
    } else {
      const name = commandNameOf(body);
      command = { ...base, ...(name === undefined ? {} : { name }), outcome: 'rejected', reason: describeIssue(parsed.error) };
      this.log.warn('device.command-rejected', {
        correlationId: message.correlationId,
        deviceId: t.deviceId,
        messageId: message.messageId,
        reason: describeIssue(parsed.error),
      });
    }
    t.lastCommand = command;
    // Remembered before the answer is awaited, so a copy arriving meanwhile is not applied twice.
    const outcome: DeviceMessageOutcome = command.outcome === 'completed' ? 'complete' : 'reject';
    t.handled.remember(message.messageId, outcome);
    try {
      const link = t.link;
      if (link !== undefined) {
        await this.acknowledge(link, {
          deviceId: t.deviceId,
          messageId: message.messageId,
          ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }),
          ...(command.name === undefined ? {} : { commandName: command.name }),
          outcome: command.outcome,
          ...(command.reason === undefined ? {} : { reason: command.reason }),
          at: receivedAt,
        });
      }
    } catch (e) {
      // The hub's feedback still tells the cloud; the acknowledgement is extra.
      this.log.warn('device.acknowledge-failed', { correlationId: message.correlationId, deviceId: t.deviceId, error: (e as Error).message });
    }
    this.emit({ type: 'command-received', deviceId: t.deviceId, command });
    this.emit({ type: 'device-changed', device: toView(t) });
    return outcome;
  }

  private change(deviceId: string, mutate: (t: Thermostat) => void): Result<ThermostatView, FleetError> {
    const t = this.devices.get(deviceId);
    if (t === undefined) return err(notInFleet(deviceId));
    mutate(t);
    const view = toView(t);
    this.emit({ type: 'device-changed', device: view });
    return ok(view);
  }

  private emit(event: FleetEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (e) {
        this.log.warn('fleet.listener-failed', { event: event.type, error: (e as Error).message });
      }
    }
  }
}
