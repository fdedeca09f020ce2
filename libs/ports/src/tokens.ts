/** DI tokens, one per port, for the composition roots. Libraries never resolve them themselves. */
export const TOKENS = {
  Clock: Symbol.for('fieldlink.Clock'),
  Ids: Symbol.for('fieldlink.Ids'),
  Log: Symbol.for('fieldlink.Log'),
  TelemetryIntake: Symbol.for('fieldlink.TelemetryIntake'),
  DeviceTelemetry: Symbol.for('fieldlink.DeviceTelemetry'),
  RejectedTelemetry: Symbol.for('fieldlink.RejectedTelemetry'),
  ReferenceData: Symbol.for('fieldlink.ReferenceData'),
  AlertsQueue: Symbol.for('fieldlink.AlertsQueue'),
  OutboundQueue: Symbol.for('fieldlink.OutboundQueue'),
  CrmGateway: Symbol.for('fieldlink.CrmGateway'),
  DeviceRegistry: Symbol.for('fieldlink.DeviceRegistry'),
  CloudToDevice: Symbol.for('fieldlink.CloudToDevice'),
  DeviceClient: Symbol.for('fieldlink.DeviceClient'),
  StatusStore: Symbol.for('fieldlink.StatusStore'),
  RuleStateStore: Symbol.for('fieldlink.RuleStateStore'),
} as const;
