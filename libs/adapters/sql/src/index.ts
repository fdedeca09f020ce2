export * from './sql-database.js';
export { columnTypes, migrateToLatest, statusMigrations } from './migrations.js';
export * from './sql-status-store.js';
export * from './sql-rejected-telemetry.js';
export * from './sql-alert-history.js';
export * from './sqlite-file.js';
export * from './sqlite-queue.js';
export * from './sqlite-rule-state-store.js';
export * from './sqlite-iot-hub.js';
