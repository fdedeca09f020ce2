export * from './azure-auth.js';
export * from './service-bus-queue.js';
export * from './blob-reference-data.js';
export * from './event-hubs-telemetry-intake.js';
export * from './iot-hub-registry.js';
export * from './iot-hub-device-client.js';
export * from './iot-hub-cloud-to-device.js';
export * from './blob-rule-state-store.js';
