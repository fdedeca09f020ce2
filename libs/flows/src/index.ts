export * from './settlement.js';
export * from './queue-processor.js';
export * from './telemetry-ingest.js';
export * from './inbound-alerts.js';
