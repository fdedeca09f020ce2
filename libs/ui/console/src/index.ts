export * from './server/console-server.js';
export * from './server/console-snapshot.js';
export * from './server/command-form.js';
export { checkAccessSettings, isLoopbackHost, type WebServerHandle } from '@fieldlink/ui-web-kit';
