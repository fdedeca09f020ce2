import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeRemoteExecutionContext, type RemoteExecutionContext } from './remote-execution-context.js';
import {
  decodeServiceEndpointMessage,
  SERVICE_ENDPOINT_MESSAGE_MAX_BYTES,
  ServiceEndpointMessageFormat,
  ServiceEndpointProperty,
  serviceEndpointQueueMessage,
} from './service-endpoint-message.js';

const bytes = (name: string, ext: 'json' | 'xml'): Uint8Array =>
  readFileSync(new URL(`../../../../fixtures/cfs/remote-execution-context.${name}.${ext}`, import.meta.url));
const context = (name: string): RemoteExecutionContext => {
  const r = decodeRemoteExecutionContext(bytes(name, 'json'));
  if (!r.ok) throw new Error(name);
  return r.value;
};
const identity = { organizationUri: 'https://contoso.crm.dynamics.com', userId: 'u-1', initiatingUserId: 'u-2' };

describe('a service endpoint message on the queue', () => {
  it('is read by its content type: application/json and application/xml give the same context', () => {
    const json = decodeServiceEndpointMessage({ body: bytes('create-command', 'json'), contentType: 'application/json' });
    const xml = decodeServiceEndpointMessage({ body: bytes('create-command', 'xml'), contentType: 'application/xml; charset=utf-8' });
    expect(json).toMatchObject({ ok: true, value: { format: 'json', maxSizeExceeded: false } });
    expect(xml).toMatchObject({ ok: true, value: { format: 'xml', maxSizeExceeded: false } });
    expect(json.ok && xml.ok && xml.value.context).toEqual(json.ok && json.value.context);
  });

  it('is read when base64 transfer-encoded, in either format, and without a content type by its first character', () => {
    for (const ext of ['json', 'xml'] as const) {
      const encoded = new TextEncoder().encode(Buffer.from(bytes('update-device', ext)).toString('base64'));
      expect(decodeServiceEndpointMessage({ body: encoded, contentType: ext === 'json' ? 'application/json' : 'application/xml' })).toMatchObject({
        ok: true,
        value: { format: ext },
      });
      expect(decodeServiceEndpointMessage({ body: bytes('update-device', ext) })).toMatchObject({ ok: true, value: { format: ext } });
    }
  });

  it('reads a Text XML body with a byte-order mark and an XML declaration, as .NET writers may emit them', () => {
    const body = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('<?xml version="1.0" encoding="utf-8"?>'), ...bytes('pull-device-data', 'xml')]);
    const read = decodeServiceEndpointMessage({ body, contentType: 'application/xml' });
    expect(read).toMatchObject({ ok: true, value: { context: { messageName: 'msdyn_PullDataForIoTDevice', inputParameters: { DeviceIds: 'thermostat-1' } } } });
  });

  it('refuses Binary XML (application/msbin1) naming the Message Format setting of the endpoint registration', () => {
    const binary = serviceEndpointQueueMessage(context('create-command'), ServiceEndpointMessageFormat.BinaryXml, identity, 'm');
    if (!binary.ok) throw new Error('encode');
    expect(binary.value.contentType).toBe('application/msbin1');
    const read = decodeServiceEndpointMessage(binary.value);
    expect(read).toMatchObject({ ok: false, error: { code: 'BinaryXmlNotSupported', message: expect.stringContaining('Message Format to Json') } });
    // Without its content type, the binary body is still recognised.
    expect(decodeServiceEndpointMessage({ body: binary.value.body })).toMatchObject({ ok: false, error: { code: 'BinaryXmlNotSupported' } });
  });

  it('refuses a content type no service endpoint posts, and a body that is not a context', () => {
    expect(decodeServiceEndpointMessage({ body: bytes('create-command', 'json'), contentType: 'text/plain' })).toMatchObject({
      ok: false,
      error: { code: 'UnsupportedContentType' },
    });
    expect(decodeServiceEndpointMessage({ body: new TextEncoder().encode('{"MessageName":1}'), contentType: 'application/json' })).toMatchObject({
      ok: false,
      error: { code: 'InvalidRemoteExecutionContext', message: expect.stringContaining('MessageName') },
    });
  });

  it('carries the documented claim properties and the content type of each format', () => {
    const ctx = context('create-command');
    for (const [format, type] of [
      [ServiceEndpointMessageFormat.Json, 'application/json'],
      [ServiceEndpointMessageFormat.TextXml, 'application/xml'],
      [ServiceEndpointMessageFormat.BinaryXml, 'application/msbin1'],
    ] as const) {
      const m = serviceEndpointQueueMessage(ctx, format, identity, 'm-1');
      expect(m).toMatchObject({ ok: true, value: { messageId: 'm-1', contentType: type, correlationId: ctx.correlationId } });
      expect(m.ok && m.value.properties).toEqual({
        'http://schemas.microsoft.com/xrm/2011/Claims/Organization': 'https://contoso.crm.dynamics.com',
        'http://schemas.microsoft.com/xrm/2011/Claims/User': 'u-1',
        'http://schemas.microsoft.com/xrm/2011/Claims/InitiatingUser': 'u-2',
        'http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName': 'msdyn_iotdevicecommand',
        'http://schemas.microsoft.com/xrm/2011/Claims/RequestName': 'Create',
      });
    }
  });

  it('over 192 KB loses its input parameters and images and is marked MessageMaxSizeExceeded; the reader says so', () => {
    const ctx = context('update-device');
    const big: RemoteExecutionContext = { ...ctx, inputParameters: { ...ctx.inputParameters, Filler: 'x'.repeat(SERVICE_ENDPOINT_MESSAGE_MAX_BYTES) } };
    for (const format of [ServiceEndpointMessageFormat.Json, ServiceEndpointMessageFormat.TextXml]) {
      const m = serviceEndpointQueueMessage(big, format, identity, 'm');
      if (!m.ok) throw new Error('strip');
      expect(m.value.body.length).toBeLessThanOrEqual(SERVICE_ENDPOINT_MESSAGE_MAX_BYTES);
      expect(m.value.properties?.[ServiceEndpointProperty.MessageMaxSizeExceeded]).toBe(true);
      const read = decodeServiceEndpointMessage(m.value);
      expect(read).toMatchObject({
        ok: true,
        value: {
          maxSizeExceeded: true,
          context: {
            messageName: 'Update',
            primaryEntityName: 'msdyn_iotdevice',
            primaryEntityId: ctx.primaryEntityId,
            inputParameters: {},
            preEntityImages: {},
            postEntityImages: {},
          },
        },
      });
    }
    const small = serviceEndpointQueueMessage(ctx, ServiceEndpointMessageFormat.Json, identity, 'm');
    expect(small.ok && small.value.properties?.[ServiceEndpointProperty.MessageMaxSizeExceeded]).toBeUndefined();
  });

  it('is an error, with nothing to send, when even the stripped context does not fit', () => {
    const ctx = context('create-command');
    const huge: RemoteExecutionContext = { ...ctx, sharedVariables: { Filler: 'x'.repeat(SERVICE_ENDPOINT_MESSAGE_MAX_BYTES) } };
    expect(serviceEndpointQueueMessage(huge, ServiceEndpointMessageFormat.Json, identity, 'm')).toMatchObject({
      ok: false,
      error: { code: 'MessageTooLarge' },
    });
  });
});
