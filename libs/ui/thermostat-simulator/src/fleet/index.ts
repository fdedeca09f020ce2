export * from './thermostat-view.js';
export * from './thermostat-command.js';
export * from './command-acknowledgement.js';
export * from './thermostat-fleet.js';
export * from './fleet-error.js';
export * from './fleet-load.js';
export * from './sensor-fleet.js';
