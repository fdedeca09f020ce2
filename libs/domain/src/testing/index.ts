export * from './hostile-input.js';
export * from './builders.js';
