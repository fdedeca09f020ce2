export * from './fleet/index.js';
export * from './server/simulator-server.js';
export { checkAccessSettings, isLoopbackHost } from './http/access-token.js';
export type { WebServerHandle } from './http/web-server.js';
