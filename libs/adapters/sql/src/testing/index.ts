export * from './postgres-server.js';
export * from './sql-store-suite.js';
