export * from './conformance-support.js';
export * from './message-queue-conformance.js';
export * from './crm-gateway-conformance.js';
