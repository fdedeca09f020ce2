export * from './verify-and-record.js';
export * from './settle-mock-server.js';
