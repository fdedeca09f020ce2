export * from './postgres-server.js';
export * from './sql-store-suite.js';
export * from './sqlite-test-files.js';
