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
  type DeviceTypeCatalog,
  type TelemetrySourceModule,
} from '@fieldlink/flows';
import { TOKENS, type ClockPort, type IdPort } from '@fieldlink/ports';
import { Container, type ContainerModule } from 'inversify';
import type { AutomationPolicy } from '../config/automation-document.js';
import type { DeviceTypes } from '../config/device-types-document.js';
import type { FieldlinkConfig } from '../config/fieldlink-config.js';
import type { EventFeed } from '../log/event-feed.js';
import { AlertHistoryRecordingQueue } from './alert-history-queue.js';
import { APP_TOKENS } from './app-tokens.js';
import type { PortAdapters } from './port-adapters.js';
import { bindingsModule, optional } from './typed-bindings.js';

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

export const crmAnnouncesOnOutboundQueue = (config: FieldlinkConfig): boolean =>
  config.ports.crm === 'dataverse' && (config.dataverse.embedded || config.ports.outboundQueue !== 'in-memory');

export interface ContainerServices {
  readonly config: FieldlinkConfig;
  readonly feed: EventFeed;
  readonly clock: ClockPort;
  readonly ids: IdPort;
  readonly adapters: PortAdapters;
  /** Send commands straight from the CRM side (no CRM service endpoint, as with the in-memory CRM). */
  readonly dispatchDirectly: boolean;
  /** The device types' commands; the configuration's source, and later the CRM's categories, plug into it. */
  readonly catalog: DeviceTypeCatalog;
  readonly deviceTypes: DeviceTypes;
  readonly automation: AutomationPolicy;
  /** Where `rules.workers` read their partitions themselves (`telemetrySourceOf`); without it the main thread reads and hands them batches. */
  readonly telemetrySource?: TelemetrySourceModule;
}

/** What every process has: its configuration, log, clock, ids, device types and rules framework policy. */
export function servicesModule(services: ContainerServices): ContainerModule {
  return bindingsModule((b) => {
    b.value(APP_TOKENS.Config, services.config);
    b.value(APP_TOKENS.EventFeed, services.feed);
    b.value(TOKENS.Log, services.feed);
    b.value(TOKENS.Clock, services.clock);
    b.value(TOKENS.Ids, services.ids);
    b.value(APP_TOKENS.CommandCatalog, services.catalog);
    b.value(APP_TOKENS.DeviceTypes, services.deviceTypes);
    b.value(APP_TOKENS.AutomationPolicy, services.automation);
  });
}

/**
 * The adapters the configuration's profile (and `ports.*`) chose, built before by
 * `buildPortAdapters` (building one may be asynchronous: a database opened, the emulator
 * started); a port this process does not need is not bound.
 */
export function adaptersModule(adapters: PortAdapters): ContainerModule {
  return bindingsModule((b) => {
    b.value(TOKENS.RejectedTelemetry, adapters.rejectedTelemetry);
    if (adapters.telemetry !== undefined) {
      b.value(TOKENS.TelemetryIntake, adapters.telemetry.intake);
      if (adapters.telemetry.deviceTelemetry !== undefined) b.value(TOKENS.DeviceTelemetry, adapters.telemetry.deviceTelemetry);
    }
    // With a status store that keeps the alert history, every alert sent is recorded there first (one row per alert, whatever is read again).
    const alertsQueue =
      adapters.alertsQueue !== undefined && adapters.alertHistory !== undefined
        ? new AlertHistoryRecordingQueue(adapters.alertsQueue, adapters.alertHistory)
        : adapters.alertsQueue;
    if (alertsQueue !== undefined) b.value(TOKENS.AlertsQueue, alertsQueue);
    if (adapters.outboundQueue !== undefined) b.value(TOKENS.OutboundQueue, adapters.outboundQueue);
    if (adapters.crm !== undefined) b.value(TOKENS.CrmGateway, adapters.crm);
    if (adapters.deviceRegistry !== undefined) b.value(TOKENS.DeviceRegistry, adapters.deviceRegistry);
    if (adapters.cloudToDevice !== undefined) b.value(TOKENS.CloudToDevice, adapters.cloudToDevice);
    if (adapters.deviceClient !== undefined) b.value(TOKENS.DeviceClient, adapters.deviceClient);
    if (adapters.referenceData !== undefined) b.value(TOKENS.ReferenceData, adapters.referenceData);
    if (adapters.statusStore !== undefined) b.value(TOKENS.StatusStore, adapters.statusStore);
    if (adapters.ruleStateStore !== undefined) b.value(TOKENS.RuleStateStore, adapters.ruleStateStore);
  });
}

/** Stream processing (flows 3 → 6, 5): bound where the process has the ports they read. */
export function streamProcessingModule(config: FieldlinkConfig, deviceTypes: DeviceTypes, telemetrySource?: TelemetrySourceModule): ContainerModule {
  const defaultDeviceType = config.rules.defaultDeviceType;
  return bindingsModule((b) => {
    if (b.has(TOKENS.ReferenceData) && b.has(TOKENS.AlertsQueue)) {
      b.factory(
        APP_TOKENS.TelemetryIngest,
        {
          referenceData: TOKENS.ReferenceData,
          alertsQueue: TOKENS.AlertsQueue,
          rejected: TOKENS.RejectedTelemetry,
          log: TOKENS.Log,
          clock: TOKENS.Clock,
          ids: TOKENS.Ids,
          statusStore: optional(TOKENS.StatusStore),
          ruleStateStore: optional(TOKENS.RuleStateStore),
        },
        (ports) => {
          const deps = { ...ports, defaultDeviceType, commitIntervalMs: config.rules.commitIntervalMs };
          return config.rules.workers > 0
            ? new TelemetryIngestWorkers(deps, config.rules.workers, {
                semiSpaceMb: config.rules.workerSemiSpaceMb,
                ...(telemetrySource === undefined ? {} : { source: telemetrySource }),
              })
            : new TelemetryIngest(deps);
        },
      );
    }
    if (b.has(TOKENS.StatusStore)) {
      // A device type with an absence rule among its rules raises an alert when its device goes offline.
      b.factory(
        APP_TOKENS.DeviceConnectionMonitor,
        {
          statusStore: TOKENS.StatusStore,
          clock: TOKENS.Clock,
          log: TOKENS.Log,
          alertsQueue: optional(TOKENS.AlertsQueue),
          referenceData: optional(TOKENS.ReferenceData),
        },
        ({ alertsQueue, referenceData, ...ports }) =>
          new DeviceConnectionMonitor({
            ...ports,
            heartbeatIntervalMs: config.simulator.heartbeatIntervalMs || 60_000,
            ...(alertsQueue === undefined ? {} : { alertsQueue, deviceTypes: deviceTypes.types.map((t) => t.definition), defaultDeviceType }),
            ...(referenceData === undefined ? {} : { deviceTypeOf: (deviceId: string) => referenceData.deviceTypeOf(deviceId) }),
          }),
      );
    }
  });
}

/** Orchestration (flows 7–19): bound where the process has a CRM, each flow where it has the ports it uses. */
export function orchestrationModule(config: FieldlinkConfig, automation: AutomationPolicy, dispatchDirectly: boolean): ContainerModule {
  const defaultDeviceType = config.rules.defaultDeviceType;
  return bindingsModule((b) => {
    if (!b.has(TOKENS.CrmGateway)) return;
    b.factory(
      APP_TOKENS.CommandAcknowledgements,
      { crm: TOKENS.CrmGateway, rejected: TOKENS.RejectedTelemetry, log: TOKENS.Log },
      (deps) => new CommandAcknowledgements(deps),
    );
    b.factory(APP_TOKENS.CommandFeedback, { crm: TOKENS.CrmGateway, log: TOKENS.Log }, (deps) => new CommandFeedback(deps));
    // The registry tells a command to all connected devices which devices are connected.
    if (b.has(TOKENS.CloudToDevice) && b.has(TOKENS.DeviceRegistry)) {
      b.factory(
        APP_TOKENS.CommandDispatch,
        { crm: TOKENS.CrmGateway, cloudToDevice: TOKENS.CloudToDevice, registry: TOKENS.DeviceRegistry, catalog: APP_TOKENS.CommandCatalog, log: TOKENS.Log },
        (deps) => new CommandDispatch({ ...deps, defaultDeviceType, ttlMs: config.commands.ttlMs }),
      );
      // With a CRM that announces its commands, the outbound queue is their one way out (see crmAnnouncesOnOutboundQueue): the sweep only expires.
      b.factory(
        APP_TOKENS.CommandSweep,
        { crm: TOKENS.CrmGateway, dispatch: APP_TOKENS.CommandDispatch, clock: TOKENS.Clock, log: TOKENS.Log },
        ({ dispatch, ...deps }) =>
          new CommandSweep({
            ...deps,
            ttlMs: config.commands.ttlMs,
            answerTimeoutMs: config.commands.answerTimeoutMs,
            ...(dispatchDirectly ? { dispatch } : {}),
          }),
      );
    }
    b.factory(
      APP_TOKENS.CommandRequests,
      { crm: TOKENS.CrmGateway, catalog: APP_TOKENS.CommandCatalog, log: TOKENS.Log, dispatch: optional(APP_TOKENS.CommandDispatch) },
      ({ dispatch, ...deps }) => new CommandRequests({ ...deps, defaultDeviceType, ...(dispatchDirectly && dispatch !== undefined ? { dispatch } : {}) }),
    );
    b.factory(APP_TOKENS.AlertActions, { crm: TOKENS.CrmGateway, commands: APP_TOKENS.CommandRequests, log: TOKENS.Log }, (deps) => new AlertActions(deps));
    b.factory(
      APP_TOKENS.AlertAutomation,
      { crm: TOKENS.CrmGateway, actions: APP_TOKENS.AlertActions, log: TOKENS.Log },
      (deps) => new AlertAutomation({ ...deps, config: automation.config, defaultDeviceType }),
    );
    b.factory(
      APP_TOKENS.InboundAlerts,
      { crm: TOKENS.CrmGateway, log: TOKENS.Log, automation: APP_TOKENS.AlertAutomation },
      (deps) => new InboundAlerts({ ...deps, enrichment: config.alerts.enrichment }),
    );
    if (b.has(TOKENS.AlertsQueue)) {
      b.factory(
        APP_TOKENS.AlertsProcessor,
        { queue: TOKENS.AlertsQueue, inbound: APP_TOKENS.InboundAlerts, log: TOKENS.Log },
        ({ queue, inbound, log }) => new QueueProcessor(queue, (m) => inbound.handle(m), log, queueProcessing(config, 'alertsQueue')),
      );
    }
    if (b.has(TOKENS.DeviceRegistry)) {
      b.factory(
        APP_TOKENS.DeviceRegistrations,
        { crm: TOKENS.CrmGateway, registry: TOKENS.DeviceRegistry, log: TOKENS.Log },
        (deps) => new DeviceRegistrations(deps),
      );
      b.factory(APP_TOKENS.DeviceDataPull, { crm: TOKENS.CrmGateway, registry: TOKENS.DeviceRegistry, log: TOKENS.Log }, (deps) => new DeviceDataPull(deps));
      // Flows 13–15: the CRM's service endpoint messages (RemoteExecutionContext) routed to devices, the registry and back to the CRM.
      if (b.has(TOKENS.OutboundQueue) && b.has(APP_TOKENS.CommandDispatch)) {
        b.factory(
          APP_TOKENS.OutboundMessages,
          {
            crm: TOKENS.CrmGateway,
            registry: TOKENS.DeviceRegistry,
            dispatch: APP_TOKENS.CommandDispatch,
            registrations: APP_TOKENS.DeviceRegistrations,
            dataPull: APP_TOKENS.DeviceDataPull,
            log: TOKENS.Log,
          },
          (deps) => new OutboundMessages(deps),
        );
        b.factory(
          APP_TOKENS.OutboundProcessor,
          { queue: TOKENS.OutboundQueue, outbound: APP_TOKENS.OutboundMessages, log: TOKENS.Log },
          ({ queue, outbound, log }) => new QueueProcessor(queue, (m) => outbound.handle(m), log, queueProcessing(config, 'outboundQueue')),
        );
      }
    }
  });
}

/**
 * The inversify container of a Fieldlink process, loaded with one container module per layer: the
 * shared services, the adapters the configuration chose, then the flows of stream processing and
 * of orchestration, each bound to a factory of the tokens it needs (a flow whose ports this
 * process does not have is not bound). Every binding is typed (`typed-bindings.ts`); no
 * decorator metadata.
 */
export function createFieldlinkContainer(services: ContainerServices): Container {
  const c = new Container({ defaultScope: 'Singleton' });
  // One module at a time: each one's conditions read what the modules before it bound.
  c.load(servicesModule(services));
  c.load(adaptersModule(services.adapters));
  c.load(streamProcessingModule(services.config, services.deviceTypes, services.telemetrySource));
  c.load(orchestrationModule(services.config, services.automation, services.dispatchDirectly));
  return c;
}
