export * from './config/fieldlink-config.js';
export * from './config/config-settings.js';
export * from './config/load-config.js';
export * from './config/redact-config.js';
