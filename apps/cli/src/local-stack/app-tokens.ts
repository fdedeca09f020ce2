/** Tokens of the application services this composition root builds (the ports' tokens live in @fieldlink/ports). */
export const APP_TOKENS = {
  TelemetryIngest: Symbol.for('fieldlink.app.TelemetryIngest'),
  InboundAlerts: Symbol.for('fieldlink.app.InboundAlerts'),
  InboundAlertsProcessor: Symbol.for('fieldlink.app.InboundAlertsProcessor'),
} as const;
