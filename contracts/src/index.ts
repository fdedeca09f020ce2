export * from './flow-contracts.js';
export * from './matrix/coverage-matrix.js';
export * from './matrix/contract-store.js';
export * from './teams/team-verification.js';
