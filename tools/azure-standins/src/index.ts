export * from './amqp/shared-access-signature.js';
export * from './amqp/amqp-endpoint.js';
export * from './amqp/service-bus-standin.js';
export * from './storage/azurite.js';
export * from './amqp/event-hubs-standin.js';
export * from './iothub/loopback-certificate.js';
export * from './iothub/host-port-agent.js';
export * from './iothub/iot-hub-standin.js';
export { trustedLoopbackCertificate } from './iothub/tls-trust.global-setup.js';
