export * from './fleet/index.js';
