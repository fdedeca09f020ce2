import 'reflect-metadata';
import { THERMOSTAT, THERMOSTAT_DEFAULT_RULES, type CfsThresholdRule } from '@fieldlink/domain';
import { InMemoryCrm, InMemoryIotHub, InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry, randomIds, systemClock } from '@fieldlink/adapter-in-memory';
import { InboundAlerts, QueueProcessor, TelemetryIngest } from '@fieldlink/flows';
import { TOKENS, type ClockPort, type CrmGatewayPort, type IdPort, type LogPort, type MessageQueuePort, type ReferenceDataPort, type RejectedTelemetryPort, type TelemetryIntakePort, type TelemetrySubscription } from '@fieldlink/ports';
import { Container } from 'inversify';
import { APP_TOKENS } from './app-tokens.js';

export interface LocalStackOptions {
  readonly log: LogPort;
  readonly deviceRules?: readonly CfsThresholdRule[];
}

/**
 * The composition root of the embedded default: every port bound to its in-memory adapter,
 * every flow built from the ports it needs. Only this file knows the container.
 */
export function createLocalContainer(options: LocalStackOptions): Container {
  const c = new Container({ defaultScope: 'Singleton' });
  c.bind<ClockPort>(TOKENS.Clock).toConstantValue(systemClock);
  c.bind<IdPort>(TOKENS.Ids).toConstantValue(randomIds);
  c.bind<LogPort>(TOKENS.Log).toConstantValue(options.log);
  c.bind(TOKENS.TelemetryIntake).toResolvedValue((clock: ClockPort, log: LogPort) => new InMemoryIotHub({ clock, onHandlerError: (e, partitionId) => log.error('telemetry.batch-failed', { partitionId, error: e.message }) }), [TOKENS.Clock, TOKENS.Log]);
  c.bind(TOKENS.DeviceTelemetry).toService(TOKENS.TelemetryIntake);
  c.bind<RejectedTelemetryPort>(TOKENS.RejectedTelemetry).toConstantValue(new InMemoryRejectedTelemetry());
  c.bind<ReferenceDataPort>(TOKENS.ReferenceData).toConstantValue(new InMemoryReferenceData(options.deviceRules ?? THERMOSTAT_DEFAULT_RULES));
  c.bind<MessageQueuePort>(TOKENS.AlertsQueue).toResolvedValue((clock: ClockPort) => new InMemoryQueue('alerts', { clock }), [TOKENS.Clock]);
  c.bind<CrmGatewayPort>(TOKENS.CrmGateway).toResolvedValue((ids: IdPort) => new InMemoryCrm(ids), [TOKENS.Ids]);
  c.bind(APP_TOKENS.TelemetryIngest).toResolvedValue(
    (referenceData: ReferenceDataPort, alertsQueue: MessageQueuePort, rejected: RejectedTelemetryPort, log: LogPort) =>
      new TelemetryIngest({ referenceData, alertsQueue, rejected, log, defaultDeviceType: THERMOSTAT.name }),
    [TOKENS.ReferenceData, TOKENS.AlertsQueue, TOKENS.RejectedTelemetry, TOKENS.Log],
  );
  c.bind(APP_TOKENS.InboundAlerts).toResolvedValue((crm: CrmGatewayPort, log: LogPort) => new InboundAlerts({ crm, log }), [TOKENS.CrmGateway, TOKENS.Log]);
  c.bind(APP_TOKENS.InboundAlertsProcessor).toResolvedValue(
    (queue: MessageQueuePort, inbound: InboundAlerts, log: LogPort) => new QueueProcessor(queue, (m) => inbound.handle(m), log),
    [TOKENS.AlertsQueue, APP_TOKENS.InboundAlerts, TOKENS.Log],
  );
  return c;
}

/** The whole loop running in this process. */
export class LocalStack {
  private subscription: TelemetrySubscription | undefined;

  constructor(readonly container: Container) {}

  get<T>(token: symbol): T {
    return this.container.get<T>(token);
  }

  async start(): Promise<void> {
    const ingest = this.get<TelemetryIngest>(APP_TOKENS.TelemetryIngest);
    this.subscription = await this.get<TelemetryIntakePort>(TOKENS.TelemetryIntake).subscribe('rules', (batch) => ingest.handleBatch(batch));
    this.get<QueueProcessor>(APP_TOKENS.InboundAlertsProcessor).start();
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
    await this.get<QueueProcessor>(APP_TOKENS.InboundAlertsProcessor).stop();
    await this.get<MessageQueuePort>(TOKENS.AlertsQueue).close();
  }
}
