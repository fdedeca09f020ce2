export { DynamicsCrmGateway, REGISTRATION_BATCH_FROM, type DynamicsCrmGatewayOptions } from './dynamics-crm-gateway.js';
export { checkSettings, credentialOf, scopeOf, type DynamicsSettings } from './dynamics-settings.js';
export { ServiceProtectionGate, defaultServiceProtection, parseRetryAfter, type ServiceProtectionSettings, type Timing } from './service-protection.js';
export { odataString, odataGuid, eqString } from './odata-literal.js';
export { deterministicGuid } from './deterministic-id.js';
export { fitAlertData, cutAlertData } from './alert-data-overflow.js';
export { Tables, Navigation, ExtensionColumns, ALERT_DATA_NOTE_SUBJECT } from './cfs-tables.js';

/** The optional Fieldlink extension solution, as a customizer imports it into an organisation. */
export const FIELDLINK_EXTENSION_SOLUTION_ZIP = new URL('../solution/FieldlinkExtension.zip', import.meta.url);
