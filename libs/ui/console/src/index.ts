export * from './server/console-server.js';
export * from './server/console-snapshot.js';
export * from './server/command-form.js';
export { checkAccessSettings, isLoopbackHost } from './http/access-token.js';
export type { WebServerHandle } from './http/web-server.js';
