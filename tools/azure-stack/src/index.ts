export * from './local-azure-stack.js';
