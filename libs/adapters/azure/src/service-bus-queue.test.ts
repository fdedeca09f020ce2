import { describe, expect, it } from 'vitest';
import { fromServiceBusMessage, toServiceBusMessage } from './service-bus-queue.js';

const claims = 'http://schemas.microsoft.com/xrm/2011/Claims/';

describe('ServiceBusQueue message mapping', () => {
  it('sends the content type and application properties of a service endpoint message as they are, and reads them back', () => {
    const properties = { [`${claims}RequestName`]: 'Create', [`${claims}EntityLogicalName`]: 'msdyn_iotdevicecommand', MessageMaxSizeExceeded: true, n: 1 };
    const sent = toServiceBusMessage({
      messageId: 'm1',
      body: new TextEncoder().encode('<RemoteExecutionContext/>'),
      contentType: 'application/xml',
      correlationId: 'c1',
      properties,
    });
    expect(sent).toMatchObject({ messageId: 'm1', contentType: 'application/xml', correlationId: 'c1', applicationProperties: properties });
    const back = fromServiceBusMessage({
      messageId: 'm1',
      body: sent.body,
      contentType: 'application/xml',
      correlationId: 'c1',
      applicationProperties: sent.applicationProperties ?? {},
    });
    expect(back).toEqual({
      messageId: 'm1',
      body: new TextEncoder().encode('<RemoteExecutionContext/>'),
      contentType: 'application/xml',
      correlationId: 'c1',
      properties,
    });
  });

  it('reads a .NET sender’s DateTime property (AMQP timestamp) as ISO text', () => {
    const back = fromServiceBusMessage({
      messageId: 'm',
      body: Buffer.from('{}'),
      contentType: 'application/json',
      applicationProperties: { [`${claims}User`]: '5e3b1a2c-9d8e-4f7a-8b6c-1a2b3c4d5e6f', at: new Date('2026-11-28T09:15:02Z') },
    });
    expect(back.properties).toEqual({ [`${claims}User`]: '5e3b1a2c-9d8e-4f7a-8b6c-1a2b3c4d5e6f', at: '2026-11-28T09:15:02.000Z' });
  });

  it('keeps the bytes of a binary body (application/msbin1)', () => {
    const back = fromServiceBusMessage({ messageId: 'm', body: Buffer.from([0x40, 0x01, 0x78, 0x01]), contentType: 'application/msbin1' });
    expect([...back.body]).toEqual([0x40, 0x01, 0x78, 0x01]);
  });
});
