/** What a thermostat last received and what it did with it. */
export interface ReceivedCommand {
  readonly messageId: string;
  readonly correlationId?: string;
  /** The CommandName, when the body could be read that far. */
  readonly name?: string;
  /** The body as text (at most 500 characters kept). */
  readonly body: string;
  readonly outcome: 'completed' | 'rejected';
  /** Why it was rejected. */
  readonly reason?: string;
  /** Epoch ms. */
  readonly receivedAt: number;
}

export interface ReceivedNotification {
  readonly message: string;
  /** Epoch ms. */
  readonly receivedAt: number;
}

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'failed';

/** One thermostat of the fleet as a page or a test sees it: plain data, safe to serialise. */
export interface ThermostatView {
  readonly deviceId: string;
  readonly temperature: number;
  readonly humidity: number;
  /** The temperature the thermostat holds (Set Values changes it). */
  readonly target: number;
  /** The humidity Set Values asked for, if any. */
  readonly humidityTarget?: number;
  /** Degrees per minute on top of the pull towards the target: a failing unit drifts. */
  readonly driftPerMinute: number;
  /** A paused thermostat sends nothing (no telemetry, no heartbeat), so it goes offline. */
  readonly paused: boolean;
  readonly connection: ConnectionState;
  /** Why the connection failed, when it did. */
  readonly connectionError?: string;
  readonly lastCommand?: ReceivedCommand;
  readonly lastNotification?: ReceivedNotification;
  readonly telemetrySent: number;
  /** Epoch ms of the last message the device sent (telemetry or heartbeat). */
  readonly lastSentAt?: number;
}

/** The initial (and Reset Thermostat) values of a thermostat. */
export interface ThermostatDefaults {
  readonly temperature: number;
  readonly humidity: number;
  readonly target: number;
  readonly driftPerMinute: number;
}

export type FleetEvent =
  | { readonly type: 'device-added'; readonly device: ThermostatView }
  | { readonly type: 'device-changed'; readonly device: ThermostatView }
  | { readonly type: 'device-removed'; readonly deviceId: string }
  /** A telemetry message left the device; `eventToken` is the correlation id of what follows. */
  | { readonly type: 'telemetry-sent'; readonly deviceId: string; readonly eventToken: string; readonly temperature: number; readonly humidity: number }
  | { readonly type: 'heartbeat-sent'; readonly deviceId: string }
  | { readonly type: 'command-received'; readonly deviceId: string; readonly command: ReceivedCommand }
  | { readonly type: 'send-failed'; readonly deviceId: string; readonly error: string };

export type FleetListener = (event: FleetEvent) => void;
