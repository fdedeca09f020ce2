// The flows of the CFS data-flow diagram, one folder per stage (docs/flows.md has the diagram
// and the flow table).

// Shared by the queue-driven flows: settlement of a message, retries, name-based ids. The
// back-off they wait by is the domain's (`backoffDelay`).
export * from './shared/settlement.js';
export * from './shared/failure-settlement.js';
export * from './shared/queue-processor.js';
export { sleep } from './shared/timers.js';
export * from './shared/deterministic-id.js';

// Flows 3–6: the stream processor (rules, per-minute aggregates, device health, alerts queue).
export * from './ingest/rule-evaluator.js';
export * from './ingest/state/minute-aggregates.js';
export * from './ingest/telemetry-ingest.js';
export * from './ingest/telemetry-ingest-workers.js';
export type { OpenTelemetrySource, TelemetrySource, TelemetrySourceModule } from './ingest/telemetry-ingest-worker-protocol.js';
export * from './ingest/device-connection-monitor.js';
export * from './ingest/offline-rules.js';

// Flows 7–10: alerts into the CRM, and what a user does with them.
export * from './alerts/inbound-alerts.js';
export * from './alerts/alert-actions.js';

// Flows 11–12: the CRM-side rules framework.
export * from './automation/alert-automation.js';

// Flows 13–15: the CRM's outbound messages, routed to the hub side.
export * from './outbound/outbound-messages.js';

// Flows 12, 16–19: command requests, dispatch, delivery feedback, the device's answer.
export * from './commands/command-catalog.js';
export * from './commands/command-progress.js';
export * from './commands/command-dispatch.js';
export * from './commands/command-sweep.js';
export * from './commands/command-requests.js';
export * from './commands/command-feedback.js';
export * from './commands/command-acknowledgements.js';
export * from './commands/command-message-id.js';

// Flows 16′–18″: device registration.
export * from './registration/device-registration.js';

// Later CFS: pull device data (twins into the device data history).
export * from './device-data/device-data-pull.js';
