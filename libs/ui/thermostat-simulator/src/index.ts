export * from './fleet/index.js';
export * from './server/simulator-server.js';
export { checkAccessSettings, isLoopbackHost, type WebServerHandle } from '@fieldlink/ui-web-kit';
