export * from './hostile-input.js';
export * from './builders.js';
export * from './seeded-random.js';
