/** Tokens of what the composition builds besides the ports (whose tokens are TOKENS in @fieldlink/ports). */
export const APP_TOKENS = {
  Config: Symbol.for('fieldlink.app.Config'),
  EventFeed: Symbol.for('fieldlink.app.EventFeed'),
  CommandCatalog: Symbol.for('fieldlink.app.CommandCatalog'),
  /** The device types (DeviceTypes: each with its readings' ranges and simulation). */
  DeviceTypes: Symbol.for('fieldlink.app.DeviceTypes'),
  /** The rules framework's policy (AutomationPolicy). */
  AutomationPolicy: Symbol.for('fieldlink.app.AutomationPolicy'),
  CommandSweep: Symbol.for('fieldlink.app.CommandSweep'),
  TelemetryIngest: Symbol.for('fieldlink.app.TelemetryIngest'),
  CommandAcknowledgements: Symbol.for('fieldlink.app.CommandAcknowledgements'),
  DeviceConnectionMonitor: Symbol.for('fieldlink.app.DeviceConnectionMonitor'),
  InboundAlerts: Symbol.for('fieldlink.app.InboundAlerts'),
  AlertsProcessor: Symbol.for('fieldlink.app.AlertsProcessor'),
  AlertAutomation: Symbol.for('fieldlink.app.AlertAutomation'),
  AlertActions: Symbol.for('fieldlink.app.AlertActions'),
  CommandRequests: Symbol.for('fieldlink.app.CommandRequests'),
  CommandDispatch: Symbol.for('fieldlink.app.CommandDispatch'),
  CommandFeedback: Symbol.for('fieldlink.app.CommandFeedback'),
  DeviceRegistrations: Symbol.for('fieldlink.app.DeviceRegistrations'),
  DeviceDataPull: Symbol.for('fieldlink.app.DeviceDataPull'),
  OutboundMessages: Symbol.for('fieldlink.app.OutboundMessages'),
  OutboundProcessor: Symbol.for('fieldlink.app.OutboundProcessor'),
} as const;
