export * from './conformance-support.js';
export * from './message-queue-conformance.js';
export * from './crm-gateway-conformance.js';
export * from './device-registry-conformance.js';
export * from './cloud-to-device-conformance.js';
export * from './device-client-conformance.js';
export * from './telemetry-intake-conformance.js';
