import type { ClockPort } from './clock-port.js';
import type { CloudToDevicePort } from './cloud-to-device-port.js';
import type { CrmGatewayPort } from './crm-gateway-port.js';
import type { DeviceClientPort } from './device-client-port.js';
import type { DeviceRegistryPort } from './device-registry-port.js';
import type { IdPort } from './id-port.js';
import type { LogPort } from './log-port.js';
import type { MessageQueuePort } from './message-queue-port.js';
import type { ReferenceDataPort } from './reference-data-port.js';
import type { RejectedTelemetryPort } from './rejected-telemetry-port.js';
import type { RuleStateStorePort } from './rule-state-store-port.js';
import type { StatusStorePort } from './status-store-port.js';
import type { DeviceTelemetryPort, TelemetryIntakePort } from './telemetry-intake-port.js';

declare const tokenOf: unique symbol;

/**
 * A DI token that carries the type of what it names: a symbol (an inversify service identifier)
 * branded with `T`, so a composition root that binds or resolves it through a typed helper is
 * checked by the compiler (binding a `Token<ClockPort>` to something that is not a clock does not
 * compile). The brand exists in types only.
 */
export type Token<T> = symbol & { readonly [tokenOf]?: T };

/** A token named `key` in the global symbol registry (the same token wherever it is made). */
export const token = <T>(key: string): Token<T> => Symbol.for(key) as Token<T>;

/** DI tokens, one per port, for the composition roots. Libraries never resolve them themselves. */
export const TOKENS = {
  Clock: token<ClockPort>('fieldlink.Clock'),
  Ids: token<IdPort>('fieldlink.Ids'),
  Log: token<LogPort>('fieldlink.Log'),
  TelemetryIntake: token<TelemetryIntakePort>('fieldlink.TelemetryIntake'),
  DeviceTelemetry: token<DeviceTelemetryPort>('fieldlink.DeviceTelemetry'),
  RejectedTelemetry: token<RejectedTelemetryPort>('fieldlink.RejectedTelemetry'),
  ReferenceData: token<ReferenceDataPort>('fieldlink.ReferenceData'),
  AlertsQueue: token<MessageQueuePort>('fieldlink.AlertsQueue'),
  OutboundQueue: token<MessageQueuePort>('fieldlink.OutboundQueue'),
  CrmGateway: token<CrmGatewayPort>('fieldlink.CrmGateway'),
  DeviceRegistry: token<DeviceRegistryPort>('fieldlink.DeviceRegistry'),
  CloudToDevice: token<CloudToDevicePort>('fieldlink.CloudToDevice'),
  DeviceClient: token<DeviceClientPort>('fieldlink.DeviceClient'),
  StatusStore: token<StatusStorePort>('fieldlink.StatusStore'),
  RuleStateStore: token<RuleStateStorePort>('fieldlink.RuleStateStore'),
} as const;
