export * from './in-memory-queue.js';
export * from './in-memory-iot-hub.js';
export * from './in-memory-crm.js';
export * from './in-memory-reference-data.js';
export * from './in-memory-rejected-telemetry.js';
export * from './system-clock.js';
export * from './random-ids.js';
