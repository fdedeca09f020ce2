import 'reflect-metadata';
import {
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
  InboundAlerts,
  OutboundMessages,
  QueueProcessor,
  type QueueProcessorOptions,
  TelemetryIngest,
  TelemetryIngestWorkers,
  type CommandCatalog,
  type DeviceTypeCatalog,
} from '@fieldlink/flows';
import {
  TOKENS,
  type ClockPort,
  type CloudToDevicePort,
  type CrmGatewayPort,
  type DeviceRegistryPort,
  type LogPort,
  type MessageQueuePort,
  type ReferenceDataPort,
  type RejectedTelemetryPort,
  type RuleStateStorePort,
  type StatusStorePort,
} from '@fieldlink/ports';
import { Container } from 'inversify';
import type { AutomationPolicy } from '../config/automation-document.js';
import type { DeviceTypes } from '../config/device-types-document.js';
import type { FieldlinkConfig } from '../config/fieldlink-config.js';
import type { EventFeed } from '../log/event-feed.js';
import { AlertHistoryRecordingQueue } from './alert-history-queue.js';
import { APP_TOKENS } from './app-tokens.js';
import type { PortAdapters } from './port-adapters.js';

/**
 * Whether the CRM itself announces new commands and registration requests on this process's
 * outbound queue, as the IoT service endpoint of a Dataverse organisation does (flow 13): the
 * emulator in process posts to it, and an organisation elsewhere reaches it when it is a Service
 * Bus queue. Then the outbound flow is the only way a command reaches a device, as in CFS: nothing
 * dispatches it directly, and no sweep of requested commands runs beside it (a send the hub
 * defers abandons the queue message, whose redelivery is the retry; past the delivery count it is
 * dead-lettered with the reason). A CRM that cannot reach the queue (the in-memory CRM, or an
 * organisation elsewhere with an in-memory queue) has its commands dispatched by the flows.
 */
/** How a queue's messages are handled: on Service Bus `serviceBus.maxConcurrentCalls` at once, elsewhere one at a time. */
const queueProcessing = (config: FieldlinkConfig, queue: 'alertsQueue' | 'outboundQueue'): QueueProcessorOptions =>
  config.ports[queue] === 'service-bus' ? { concurrency: config.serviceBus.maxConcurrentCalls } : {};

export const crmAnnouncesOnOutboundQueue = (config: FieldlinkConfig): boolean => config.ports.crm === 'dataverse' && (config.dataverse.embedded || config.ports.outboundQueue !== 'in-memory');

export interface ContainerServices {
  readonly config: FieldlinkConfig;
  readonly feed: EventFeed;
  readonly clock: ClockPort;
  readonly ids: { newId(): string };
  readonly adapters: PortAdapters;
  /** Send commands straight from the CRM side (no CRM service endpoint, as with the in-memory CRM). */
  readonly dispatchDirectly: boolean;
  /** The device types' commands; the configuration's source, and later the CRM's categories, plug into it. */
  readonly catalog: DeviceTypeCatalog;
  readonly deviceTypes: DeviceTypes;
  readonly automation: AutomationPolicy;
}

/**
 * The inversify container of a Fieldlink process: each port token bound to the adapter the
 * configuration chose (built before, by `buildPortAdapters`), and each flow service bound to a
 * factory of the tokens it needs. A flow whose ports this process does not have is not bound.
 * Explicit tokens only, `toConstantValue` / `toResolvedValue`: no decorator metadata.
 */
export function createFieldlinkContainer(services: ContainerServices): Container {
  const { config, adapters } = services;
  const c = new Container({ defaultScope: 'Singleton' });
  const has = (token: symbol): boolean => c.isBound(token);

  c.bind(APP_TOKENS.Config).toConstantValue(config);
  c.bind(APP_TOKENS.EventFeed).toConstantValue(services.feed);
  c.bind<LogPort>(TOKENS.Log).toConstantValue(services.feed);
  c.bind<ClockPort>(TOKENS.Clock).toConstantValue(services.clock);
  c.bind(TOKENS.Ids).toConstantValue(services.ids);
  c.bind<RejectedTelemetryPort>(TOKENS.RejectedTelemetry).toConstantValue(adapters.rejectedTelemetry);
  c.bind<CommandCatalog>(APP_TOKENS.CommandCatalog).toConstantValue(services.catalog);
  c.bind(APP_TOKENS.DeviceTypes).toConstantValue(services.deviceTypes);
  c.bind(APP_TOKENS.AutomationPolicy).toConstantValue(services.automation);
  if (adapters.telemetry !== undefined) {
    c.bind(TOKENS.TelemetryIntake).toConstantValue(adapters.telemetry.intake);
    if (adapters.telemetry.deviceTelemetry !== undefined) c.bind(TOKENS.DeviceTelemetry).toConstantValue(adapters.telemetry.deviceTelemetry);
  }
  const bindPort = (token: symbol, value: unknown): void => {
    if (value !== undefined) c.bind(token).toConstantValue(value);
  };
  // With a status store that keeps the alert history, every alert sent is recorded there first (one row per alert, whatever is read again).
  bindPort(TOKENS.AlertsQueue, adapters.alertsQueue !== undefined && adapters.alertHistory !== undefined ? new AlertHistoryRecordingQueue(adapters.alertsQueue, adapters.alertHistory) : adapters.alertsQueue);
  bindPort(TOKENS.OutboundQueue, adapters.outboundQueue);
  bindPort(TOKENS.CrmGateway, adapters.crm);
  bindPort(TOKENS.DeviceRegistry, adapters.deviceRegistry);
  bindPort(TOKENS.CloudToDevice, adapters.cloudToDevice);
  bindPort(TOKENS.DeviceClient, adapters.deviceClient);
  bindPort(TOKENS.ReferenceData, adapters.referenceData);
  bindPort(TOKENS.StatusStore, adapters.statusStore);
  bindPort(TOKENS.RuleStateStore, adapters.ruleStateStore);
  const defaultDeviceType = config.rules.defaultDeviceType;

  // ---- stream processing (flows 3 → 6, 5) ----
  if (has(TOKENS.ReferenceData) && has(TOKENS.AlertsQueue)) {
    c.bind(APP_TOKENS.TelemetryIngest).toResolvedValue(
      (referenceData: ReferenceDataPort, alertsQueue: MessageQueuePort, rejected: RejectedTelemetryPort, log: LogPort, clock: ClockPort, statusStore: StatusStorePort | undefined, ruleStateStore: RuleStateStorePort | undefined) =>
      {
        const deps = { referenceData, alertsQueue, rejected, log, clock, defaultDeviceType, commitIntervalMs: config.rules.commitIntervalMs, ...(statusStore === undefined ? {} : { statusStore }), ...(ruleStateStore === undefined ? {} : { ruleStateStore }) };
        return config.rules.workers > 0 ? new TelemetryIngestWorkers(deps, config.rules.workers) : new TelemetryIngest(deps);
      },
      [TOKENS.ReferenceData, TOKENS.AlertsQueue, TOKENS.RejectedTelemetry, TOKENS.Log, TOKENS.Clock, { serviceIdentifier: TOKENS.StatusStore, optional: true }, { serviceIdentifier: TOKENS.RuleStateStore, optional: true }],
    );
  }
  if (has(TOKENS.StatusStore)) {
    // A device type with an absence rule among its rules raises an alert when its device goes offline.
    c.bind(APP_TOKENS.DeviceConnectionMonitor).toResolvedValue(
      (statusStore: StatusStorePort, clock: ClockPort, log: LogPort, alertsQueue: MessageQueuePort | undefined, referenceData: ReferenceDataPort | undefined) =>
        new DeviceConnectionMonitor({
          statusStore,
          clock,
          log,
          heartbeatIntervalMs: config.simulator.heartbeatIntervalMs || 60_000,
          ...(alertsQueue === undefined ? {} : { alertsQueue, deviceTypes: services.deviceTypes.types.map((t) => t.definition), defaultDeviceType }),
          ...(referenceData === undefined ? {} : { deviceTypeOf: (deviceId: string) => referenceData.deviceTypeOf(deviceId) }),
        }),
      [TOKENS.StatusStore, TOKENS.Clock, TOKENS.Log, { serviceIdentifier: TOKENS.AlertsQueue, optional: true }, { serviceIdentifier: TOKENS.ReferenceData, optional: true }],
    );
  }

  // ---- orchestration (flows 7–19) ----
  if (has(TOKENS.CrmGateway)) {
    c.bind(APP_TOKENS.CommandAcknowledgements).toResolvedValue((crm: CrmGatewayPort, rejected: RejectedTelemetryPort, log: LogPort) => new CommandAcknowledgements({ crm, rejected, log }), [TOKENS.CrmGateway, TOKENS.RejectedTelemetry, TOKENS.Log]);
    c.bind(APP_TOKENS.CommandFeedback).toResolvedValue((crm: CrmGatewayPort, log: LogPort) => new CommandFeedback({ crm, log }), [TOKENS.CrmGateway, TOKENS.Log]);
    // The registry tells a command to all connected devices which devices are connected.
    if (has(TOKENS.CloudToDevice) && has(TOKENS.DeviceRegistry)) {
      c.bind(APP_TOKENS.CommandDispatch).toResolvedValue(
        (crm: CrmGatewayPort, cloudToDevice: CloudToDevicePort, registry: DeviceRegistryPort, catalog: CommandCatalog, log: LogPort) => new CommandDispatch({ crm, cloudToDevice, registry, catalog, log, defaultDeviceType, ttlMs: config.commands.ttlMs }),
        [TOKENS.CrmGateway, TOKENS.CloudToDevice, TOKENS.DeviceRegistry, APP_TOKENS.CommandCatalog, TOKENS.Log],
      );
      // With a CRM that announces its commands, the outbound queue is their one way out (see crmAnnouncesOnOutboundQueue): the sweep only expires.
      c.bind(APP_TOKENS.CommandSweep).toResolvedValue(
        (crm: CrmGatewayPort, dispatch: CommandDispatch, clock: ClockPort, log: LogPort) =>
          new CommandSweep({ crm, log, clock, ttlMs: config.commands.ttlMs, answerTimeoutMs: config.commands.answerTimeoutMs, ...(services.dispatchDirectly ? { dispatch } : {}) }),
        [TOKENS.CrmGateway, APP_TOKENS.CommandDispatch, TOKENS.Clock, TOKENS.Log],
      );
    }
    c.bind(APP_TOKENS.CommandRequests).toResolvedValue(
      (crm: CrmGatewayPort, catalog: CommandCatalog, log: LogPort, dispatch: CommandDispatch | undefined) =>
        new CommandRequests({ crm, catalog, log, defaultDeviceType, ...(services.dispatchDirectly && dispatch !== undefined ? { dispatch } : {}) }),
      [TOKENS.CrmGateway, APP_TOKENS.CommandCatalog, TOKENS.Log, { serviceIdentifier: APP_TOKENS.CommandDispatch, optional: true }],
    );
    c.bind(APP_TOKENS.AlertActions).toResolvedValue((crm: CrmGatewayPort, commands: CommandRequests, log: LogPort) => new AlertActions({ crm, commands, log }), [TOKENS.CrmGateway, APP_TOKENS.CommandRequests, TOKENS.Log]);
    c.bind(APP_TOKENS.AlertAutomation).toResolvedValue(
      (crm: CrmGatewayPort, actions: AlertActions, log: LogPort) => new AlertAutomation({ crm, actions, log, config: services.automation.config, defaultDeviceType }),
      [TOKENS.CrmGateway, APP_TOKENS.AlertActions, TOKENS.Log],
    );
    c.bind(APP_TOKENS.InboundAlerts).toResolvedValue((crm: CrmGatewayPort, log: LogPort, automation: AlertAutomation) => new InboundAlerts({ crm, log, automation, enrichment: config.alerts.enrichment }), [TOKENS.CrmGateway, TOKENS.Log, APP_TOKENS.AlertAutomation]);
    if (has(TOKENS.AlertsQueue)) {
      c.bind(APP_TOKENS.AlertsProcessor).toResolvedValue(
        (queue: MessageQueuePort, inbound: InboundAlerts, log: LogPort) => new QueueProcessor(queue, (m) => inbound.handle(m), log, queueProcessing(config, 'alertsQueue')),
        [TOKENS.AlertsQueue, APP_TOKENS.InboundAlerts, TOKENS.Log],
      );
    }
    if (has(TOKENS.DeviceRegistry)) {
      c.bind(APP_TOKENS.DeviceRegistrations).toResolvedValue((crm: CrmGatewayPort, registry: DeviceRegistryPort, log: LogPort) => new DeviceRegistrations({ crm, registry, log }), [TOKENS.CrmGateway, TOKENS.DeviceRegistry, TOKENS.Log]);
      c.bind(APP_TOKENS.DeviceDataPull).toResolvedValue((crm: CrmGatewayPort, registry: DeviceRegistryPort, log: LogPort) => new DeviceDataPull({ crm, registry, log }), [TOKENS.CrmGateway, TOKENS.DeviceRegistry, TOKENS.Log]);
      // Flows 13–15: the CRM's service endpoint messages (RemoteExecutionContext) routed to devices, the registry and back to the CRM.
      if (has(TOKENS.OutboundQueue) && has(APP_TOKENS.CommandDispatch)) {
        c.bind(APP_TOKENS.OutboundMessages).toResolvedValue(
          (crm: CrmGatewayPort, registry: DeviceRegistryPort, dispatch: CommandDispatch, registrations: DeviceRegistrations, dataPull: DeviceDataPull, log: LogPort) => new OutboundMessages({ crm, registry, dispatch, registrations, dataPull, log }),
          [TOKENS.CrmGateway, TOKENS.DeviceRegistry, APP_TOKENS.CommandDispatch, APP_TOKENS.DeviceRegistrations, APP_TOKENS.DeviceDataPull, TOKENS.Log],
        );
        c.bind(APP_TOKENS.OutboundProcessor).toResolvedValue(
          (queue: MessageQueuePort, outbound: OutboundMessages, log: LogPort) => new QueueProcessor(queue, (m) => outbound.handle(m), log, queueProcessing(config, 'outboundQueue')),
          [TOKENS.OutboundQueue, APP_TOKENS.OutboundMessages, TOKENS.Log],
        );
      }
    }
  }
  return c;
}
