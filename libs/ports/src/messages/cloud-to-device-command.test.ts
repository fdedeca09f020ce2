import { describe, expect, it } from 'vitest';
import { decodeCloudToDeviceCommand, encodeCloudToDeviceCommand } from './cloud-to-device-command.js';

const setValues = '{"CommandName":"Set Values","Parameters":{"Reading":{"Temperature":"30","Humidity":"30"}}}';

describe('cloud-to-device command message', () => {
  it('sends msdyn_message as it is, under the command id, and the device reads the command back', () => {
    const result = encodeCloudToDeviceCommand({
      commandId: 'c0ffee00-1234-4abc-8def-0123456789ab',
      deviceId: "thermostat'1",
      message: setValues,
      correlationId: 'corr-1',
      ttlMs: 60_000,
    });
    expect(result).toMatchObject({
      ok: true,
      value: {
        messageId: 'c0ffee00-1234-4abc-8def-0123456789ab',
        deviceId: "thermostat'1",
        correlationId: 'corr-1',
        ttlMs: 60_000,
        properties: { commandName: 'Set Values' },
      },
    });
    if (!result.ok) return;
    expect(new TextDecoder().decode(result.value.body)).toBe(setValues);
    expect(decodeCloudToDeviceCommand(result.value.body)).toEqual({ ok: true, value: JSON.parse(setValues) });
  });

  it('refuses a message that is not a command payload, naming the field under "message"', () => {
    expect(encodeCloudToDeviceCommand({ commandId: 'c', deviceId: 'd', message: '{"Parameters":{}}' })).toMatchObject({
      ok: false,
      error: [{ path: 'message.CommandName' }],
    });
    expect(encodeCloudToDeviceCommand({ commandId: 'c', deviceId: 'd', message: 'reset' })).toMatchObject({ ok: false, error: [{ path: 'message' }] });
  });
});
