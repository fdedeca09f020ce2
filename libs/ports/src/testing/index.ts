export * from './message-queue-conformance.js';
