export * from './verify-and-record.js';
