import type {
  AlertActions,
  AlertAutomation,
  CommandAcknowledgements,
  CommandDispatch,
  CommandFeedback,
  CommandRequests,
  CommandSweep,
  DeviceConnectionMonitor,
  DeviceDataPull,
  DeviceRegistrations,
  DeviceTypeCatalog,
  InboundAlerts,
  OutboundMessages,
  QueueProcessor,
  TelemetryIngest,
  TelemetryIngestWorkers,
} from '@fieldlink/flows';
import { token } from '@fieldlink/ports';
import type { AutomationPolicy } from '../config/automation-document.js';
import type { DeviceTypes } from '../config/device-types-document.js';
import type { FieldlinkConfig } from '../config/fieldlink-config.js';
import type { EventFeed } from '../log/event-feed.js';

/** Tokens of what the composition builds besides the ports (whose tokens are TOKENS in @fieldlink/ports), each typed with what it names. */
export const APP_TOKENS = {
  Config: token<FieldlinkConfig>('fieldlink.app.Config'),
  EventFeed: token<EventFeed>('fieldlink.app.EventFeed'),
  /** The device types' commands (the configuration's device types, and later the CRM's categories). */
  CommandCatalog: token<DeviceTypeCatalog>('fieldlink.app.CommandCatalog'),
  /** The device types (DeviceTypes: each with its readings' ranges and simulation). */
  DeviceTypes: token<DeviceTypes>('fieldlink.app.DeviceTypes'),
  /** The rules framework's policy (AutomationPolicy). */
  AutomationPolicy: token<AutomationPolicy>('fieldlink.app.AutomationPolicy'),
  CommandSweep: token<CommandSweep>('fieldlink.app.CommandSweep'),
  /** On one thread, or spread over worker threads (`rules.workers`). */
  TelemetryIngest: token<TelemetryIngest | TelemetryIngestWorkers>('fieldlink.app.TelemetryIngest'),
  CommandAcknowledgements: token<CommandAcknowledgements>('fieldlink.app.CommandAcknowledgements'),
  DeviceConnectionMonitor: token<DeviceConnectionMonitor>('fieldlink.app.DeviceConnectionMonitor'),
  InboundAlerts: token<InboundAlerts>('fieldlink.app.InboundAlerts'),
  AlertsProcessor: token<QueueProcessor>('fieldlink.app.AlertsProcessor'),
  AlertAutomation: token<AlertAutomation>('fieldlink.app.AlertAutomation'),
  AlertActions: token<AlertActions>('fieldlink.app.AlertActions'),
  CommandRequests: token<CommandRequests>('fieldlink.app.CommandRequests'),
  CommandDispatch: token<CommandDispatch>('fieldlink.app.CommandDispatch'),
  CommandFeedback: token<CommandFeedback>('fieldlink.app.CommandFeedback'),
  DeviceRegistrations: token<DeviceRegistrations>('fieldlink.app.DeviceRegistrations'),
  DeviceDataPull: token<DeviceDataPull>('fieldlink.app.DeviceDataPull'),
  OutboundMessages: token<OutboundMessages>('fieldlink.app.OutboundMessages'),
  OutboundProcessor: token<QueueProcessor>('fieldlink.app.OutboundProcessor'),
} as const;
