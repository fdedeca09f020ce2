export * from './access-token.js';
export * from './event-stream.js';
export * from './json-body.js';
export * from './web-server.js';
