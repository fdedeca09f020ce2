import { ok, type Result } from '@fieldlink/domain';
import type { FieldlinkConfig } from '../config/fieldlink-config.js';
import type { ConfigIssue } from '../config/load-config.js';
import { APP_TOKENS } from '../container/app-tokens.js';
import {
  assemble,
  commandAcknowledgementsPart,
  commandFeedbackPart,
  connectionMonitorPart,
  consumerGroupOf,
  FieldlinkRuntime,
  pendingCommandsPart,
  queueProcessorPart,
  repliesConsumerGroupOf,
  ROLE_PORTS,
  telemetryIngestPart,
  type RuntimeOptions,
  type RuntimePart,
} from './fieldlink-runtime.js';
import type { Container } from 'inversify';

const monitorEvery = (config: FieldlinkConfig): number => Math.max(1_000, Math.min(30_000, config.simulator.heartbeatIntervalMs || 30_000));

function streamProcessorParts(container: Container, config: FieldlinkConfig): RuntimePart[] {
  return [telemetryIngestPart(container, consumerGroupOf(config)), connectionMonitorPart(container, monitorEvery(config))];
}

function orchestratorParts(container: Container, config: FieldlinkConfig): RuntimePart[] {
  const parts = [
    queueProcessorPart(container, APP_TOKENS.AlertsProcessor, 'inbound-alerts'),
    commandFeedbackPart(container),
    commandAcknowledgementsPart(container, repliesConsumerGroupOf(config)),
  ];
  if (container.isBound(APP_TOKENS.OutboundProcessor)) parts.push(queueProcessorPart(container, APP_TOKENS.OutboundProcessor, 'outbound-messages'));
  // Sends again what a throttled hub left requested (not with a CRM that announces its commands: the outbound queue redelivers), and expires overdue commands.
  if (container.isBound(APP_TOKENS.CommandSweep)) parts.push(pendingCommandsPart(container, config.commands.sweepIntervalMs));
  return parts;
}

/** The stream processor (in place of the CFS Stream Analytics job): telemetry → rules → alerts queue, aggregates, device health. */
export async function createStreamProcessor(config: FieldlinkConfig, options: RuntimeOptions = {}): Promise<Result<FieldlinkRuntime, ConfigIssue[]>> {
  const assembled = await assemble(config, ROLE_PORTS['stream-processor'], options);
  if (!assembled.ok) return assembled;
  const { container, feed, adapters } = assembled.value;
  return ok(new FieldlinkRuntime(config, container, feed, streamProcessorParts(container, config), adapters));
}

/** The orchestrator (in place of the two CFS Logic Apps): alerts into CRM, the rules framework, commands to devices and their feedback. */
export async function createOrchestrator(config: FieldlinkConfig, options: RuntimeOptions = {}): Promise<Result<FieldlinkRuntime, ConfigIssue[]>> {
  const assembled = await assemble(config, ROLE_PORTS.orchestrator, options);
  if (!assembled.ok) return assembled;
  const { container, feed, adapters } = assembled.value;
  return ok(new FieldlinkRuntime(config, container, feed, orchestratorParts(container, config), adapters));
}

/** Both in one process over one set of adapters (shared in-memory ones on the embedded default); `extraParts` run last. */
export async function createCombinedRuntime(
  config: FieldlinkConfig,
  options: RuntimeOptions = {},
  extraParts: (container: Container) => RuntimePart[] = () => [],
): Promise<Result<FieldlinkRuntime, ConfigIssue[]>> {
  const assembled = await assemble(config, [...ROLE_PORTS['stream-processor'], ...ROLE_PORTS.orchestrator, 'deviceClient'], options);
  if (!assembled.ok) return assembled;
  const { container, feed, adapters } = assembled.value;
  return ok(
    new FieldlinkRuntime(
      config,
      container,
      feed,
      [...orchestratorParts(container, config), ...streamProcessorParts(container, config), ...extraParts(container)],
      adapters,
    ),
  );
}
