import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCommandCreatedContext, buildRegisterDevicesContext } from '../testing/outbound-context-builders.js';
import { readCommandCreated, readRegisterDevices } from './outbound-crm-message.js';
import { decodeRemoteExecutionContext, encodeRemoteExecutionContext } from './remote-execution-context.js';

const hubId = fc.stringMatching(/^[A-Za-z0-9\-:.+%_#*?!=@;$']{1,40}$/);
const guid = fc.uuid();
const jsonObject = fc
  .dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
  .map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>);
const viaWire = (ctx: ReturnType<typeof buildRegisterDevicesContext>) => {
  const decoded = decodeRemoteExecutionContext(encodeRemoteExecutionContext(ctx));
  if (!decoded.ok) throw new Error(JSON.stringify(decoded.error));
  return decoded.value;
};

describe('outbound CRM messages (properties)', () => {
  it('reads back any register request it builds, through the wire, for ids and names without commas', () => {
    const device = fc.record({
      deviceId: hubId,
      deviceRecordId: guid,
      name: fc
        .stringMatching(/^[^,]{1,20}$/)
        .map((s) => s.trim())
        .filter((s) => s !== ''),
      tags: jsonObject,
      settings: jsonObject,
    });
    fc.assert(
      fc.property(fc.array(device, { minLength: 1, maxLength: 5 }), (devices) => {
        expect(readRegisterDevices(viaWire(buildRegisterDevicesContext(devices)))).toEqual({ ok: true, value: devices });
      }),
    );
  });

  it('reads back any command it builds, through the wire, message text exactly', () => {
    const command = fc.record({
      commandId: guid,
      name: fc.string({ minLength: 1 }),
      message: fc.string({ minLength: 1 }).filter((s) => s.trim() !== ''),
      deviceId: hubId,
      deviceRecordId: guid,
      sendToAllConnectedDevices: fc.boolean(),
    });
    fc.assert(
      fc.property(command, (c) => {
        expect(readCommandCreated(viaWire(buildCommandCreatedContext(c)))).toEqual({ ok: true, value: c });
      }),
    );
  });
});
