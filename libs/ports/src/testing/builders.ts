import { RegistrationStatus } from '@fieldlink/domain';
import { anIoTAlert } from '@fieldlink/domain/testing/builders';
import { encodeJsonBody } from '../codec/json-body.js';
import type { CrmDevice, NewCrmCommand, NewIoTAlert } from '../crm-gateway-port.js';
import type { TelemetryEnvelope } from '../telemetry-intake-port.js';

/*
 * Object mothers for the records and messages that cross the ports: a valid, typical value of
 * each, so that a test spells out only the fields it is about. Model values (an alert) come from
 * `@fieldlink/domain/testing`.
 */

/** A registered thermostat in the CRM: thermostat-1, record `<deviceId>-record`. */
export const aCrmDevice = (overrides: Partial<CrmDevice> = {}): CrmDevice => {
  const deviceId = overrides.deviceId ?? 'thermostat-1';
  return {
    deviceRecordId: `${deviceId}-record`,
    deviceId,
    name: 'Lobby thermostat',
    deviceType: 'Thermostat',
    registrationStatus: RegistrationStatus.Registered,
    ...overrides,
  };
};

/** An alert to create in the CRM (`anIoTAlert` of the domain, nothing resolved yet). */
export const aNewIoTAlert = (overrides: Partial<NewIoTAlert> = {}): NewIoTAlert => ({ ...anIoTAlert(overrides), ...overrides });

/** The payload of a Set Values command to 21 °C, in the organisation's default property names. */
export const SET_VALUES_MESSAGE = '{"CommandName":"Set Values","Parameters":{"Reading":{"Temperature":"21"}}}';

/** A Set Values command to thermostat-1. */
export const aNewCrmCommand = (overrides: Partial<NewCrmCommand> = {}): NewCrmCommand => ({
  name: 'Set Values',
  message: SET_VALUES_MESSAGE,
  deviceId: 'thermostat-1',
  ...overrides,
});

/** A telemetry event as the hub hands it over: `body` (text, or a value sent as JSON) from thermostat-1 on partition 0. */
export const aTelemetryEnvelope = (body: string | object, overrides: Partial<Omit<TelemetryEnvelope, 'body'>> = {}): TelemetryEnvelope => ({
  body: typeof body === 'string' ? new TextEncoder().encode(body) : encodeJsonBody(body),
  connectionDeviceId: 'thermostat-1',
  enqueuedTime: Date.UTC(2026, 10, 28, 9, 15, 2, 113),
  partitionId: '0',
  sequenceNumber: 0,
  ...overrides,
});
