import { stepThermostat, type ThermostatSimState } from '@fieldlink/domain';
import type { DeviceConnection, DeviceMessageOutcome } from '@fieldlink/ports';
import { HandledMessages } from './handled-messages.js';
import type { ThermostatCommand } from './thermostat-command.js';
import type { ConnectionState, ReceivedCommand, ReceivedNotification, ThermostatDefaults, ThermostatView } from './thermostat-view.js';

/*
 * One simulated thermostat: its state, how it moves over time, what a command does to it, and
 * the view a page shows. `ThermostatFleet` keeps many, connects them and sends their readings.
 */

export interface Thermostat {
  readonly deviceId: string;
  readonly defaults: ThermostatDefaults;
  state: ThermostatSimState;
  humidityTarget: number | undefined;
  /** Set Values gave a new target: the thermostat drives towards it, then holds it. */
  approaching: boolean;
  paused: boolean;
  connection: ConnectionState;
  connectionError: string | undefined;
  link: DeviceConnection | undefined;
  lastCommand: ReceivedCommand | undefined;
  lastNotification: ReceivedNotification | undefined;
  /** Message id → how it was settled: a repeat is settled alike, not applied or answered again. */
  readonly handled: HandledMessages<DeviceMessageOutcome>;
  telemetrySent: number;
  lastSentAt: number | undefined;
  removed: boolean;
}

export function newThermostat(deviceId: string, defaults: ThermostatDefaults, rememberedMessages: number | undefined): Thermostat {
  return {
    deviceId,
    defaults,
    state: { ...defaults },
    humidityTarget: undefined,
    approaching: false,
    paused: false,
    connection: 'connecting',
    connectionError: undefined,
    link: undefined,
    lastCommand: undefined,
    lastNotification: undefined,
    handled: new HandledMessages(rememberedMessages),
    telemetrySent: 0,
    lastSentAt: undefined,
    removed: false,
  };
}

export const round1 = (n: number): number => Math.round(n * 10) / 10;

/**
 * Moves the readings by `elapsedMs`: the domain's drift with `noise` in [-1, 1), towards a target
 * Set Values gave (then held), and the humidity towards its target at `approachPerMinute`.
 */
export function stepUnit(t: Thermostat, elapsedMs: number, noise: number, approachPerMinute: number): void {
  const before = t.state;
  let next = stepThermostat(before, elapsedMs, t.approaching ? 0 : noise);
  if (t.approaching) {
    const gapBefore = before.temperature - before.target;
    const gapAfter = next.temperature - next.target;
    if (gapBefore === 0 || Math.sign(gapAfter) !== Math.sign(gapBefore) || Math.abs(gapAfter) < 0.05) {
      // Arrived: hold the target from now on.
      next = { ...next, temperature: next.target, driftPerMinute: 0 };
      t.approaching = false;
    }
  }
  if (t.humidityTarget !== undefined) {
    const gap = t.humidityTarget - next.humidity;
    const move = Math.min(Math.abs(gap), (approachPerMinute * elapsedMs) / 60_000);
    next = { ...next, humidity: round1(next.humidity + Math.sign(gap) * move) };
  }
  t.state = next;
}

/** What a valid command does to the thermostat; `at` is when it was received. */
export function applyCommand(t: Thermostat, command: ThermostatCommand, at: number, approachPerMinute: number): void {
  switch (command.name) {
    case 'Reset Thermostat':
      t.state = { ...t.defaults };
      t.humidityTarget = undefined;
      t.approaching = false;
      return;
    case 'Notification':
      t.lastNotification = { message: command.message, receivedAt: at };
      return;
    case 'Set Values': {
      if (command.temperature !== undefined) {
        const gap = command.temperature - t.state.temperature;
        // Drive towards the new target at the approach rate; a drifting unit stops drifting.
        t.state = { ...t.state, target: command.temperature, driftPerMinute: gap === 0 ? 0 : Math.sign(gap) * approachPerMinute };
        t.approaching = gap !== 0;
      }
      if (command.humidity !== undefined) t.humidityTarget = command.humidity;
      return;
    }
  }
}

/** The `CommandName` of a body, when it has one, for a command rejected as unreadable. */
export function commandNameOf(body: string): string | undefined {
  try {
    const json = JSON.parse(body) as { CommandName?: unknown };
    return typeof json.CommandName === 'string' ? json.CommandName : undefined;
  } catch {
    return undefined;
  }
}

export function toView(t: Thermostat): ThermostatView {
  return {
    deviceId: t.deviceId,
    temperature: t.state.temperature,
    humidity: t.state.humidity,
    target: t.state.target,
    ...(t.humidityTarget === undefined ? {} : { humidityTarget: t.humidityTarget }),
    driftPerMinute: t.approaching ? 0 : t.state.driftPerMinute,
    paused: t.paused,
    connection: t.connection,
    ...(t.connectionError === undefined ? {} : { connectionError: t.connectionError }),
    ...(t.lastCommand === undefined ? {} : { lastCommand: t.lastCommand }),
    ...(t.lastNotification === undefined ? {} : { lastNotification: t.lastNotification }),
    telemetrySent: t.telemetrySent,
    ...(t.lastSentAt === undefined ? {} : { lastSentAt: t.lastSentAt }),
  };
}
