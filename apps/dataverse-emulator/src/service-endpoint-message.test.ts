// The emulator's IoT service endpoint posts as a Dataverse service endpoint does: the claim
// properties, the content type of its message format, and over 192 KB a stripped context marked
// MessageMaxSizeExceeded (or nothing, when even that does not fit).
import { InMemoryQueue } from '@fieldlink/adapter-in-memory';
import { startDataverseEmulator, type RunningDataverseEmulator } from '@fieldlink/dataverse-emulator';
import {
  decodeRemoteExecutionContextXml,
  decodeServiceEndpointMessage,
  ServiceEndpointMessageFormat,
  type QueueMessage,
  type ReceivedQueueMessage,
} from '@fieldlink/ports';
import { waitFor } from '@fieldlink/ports/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const DEVICE = 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6';
let emulator: RunningDataverseEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

/** Updates the device's settings through the running emulator's Web API (each update posts one message). */
const patch = (settings: string): Promise<Response> =>
  fetch(`${emulator!.webApiUrl}msdyn_iotdevices(${DEVICE})`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json', 'OData-Version': '4.0', Authorization: 'Bearer a-test-client' },
    body: JSON.stringify({ msdyn_deviceid: 'thermostat-1', msdyn_devicesettings: settings }),
  });

/** The device settings a posted message's post image carries. */
function postedSettings(message: ReceivedQueueMessage): unknown {
  const read = decodeServiceEndpointMessage(message);
  if (!read.ok) throw new Error(read.error.message);
  return read.value.context.postEntityImages['PostImage']?.attributes['msdyn_devicesettings'];
}

async function start(format: ServiceEndpointMessageFormat, maxBytes?: number) {
  const outbound = new InMemoryQueue('outbound');
  emulator = await startDataverseEmulator({
    outboundQueue: outbound,
    serviceEndpointMessageFormat: format,
    ...(maxBytes === undefined ? {} : { serviceEndpointMaxMessageBytes: maxBytes }),
  });
  const call = async (method: string, target: string, body: unknown): Promise<Response> =>
    fetch(`${emulator!.webApiUrl}${target}`, {
      method,
      headers: { 'Content-Type': 'application/json', 'OData-Version': '4.0', Authorization: 'Bearer a-test-client' },
      body: JSON.stringify(body),
    });
  const res = await call('PATCH', `msdyn_iotdevices(${DEVICE})`, {
    msdyn_deviceid: 'thermostat-1',
    msdyn_name: 'Lobby thermostat',
    msdyn_devicesettings: '{"TargetTemperature":21}',
  });
  expect(res.ok).toBe(true);
  await outbound.receive({ maxMessages: 100, maxWaitMs: 0 }).then((old) => Promise.all(old.map((m) => outbound.complete(m))));
  const next = async (): Promise<ReceivedQueueMessage | undefined> => (await outbound.receive({ maxMessages: 1, maxWaitMs: 200 }))[0];
  return { call, next };
}

describe('the IoT service endpoint of the emulator', () => {
  it.each([
    [ServiceEndpointMessageFormat.Json, 'application/json'],
    [ServiceEndpointMessageFormat.TextXml, 'application/xml'],
    [ServiceEndpointMessageFormat.BinaryXml, 'application/msbin1'],
  ] as const)('posts in messageformat %s with content type %s and the documented claim properties', async (format, contentType) => {
    const { call, next } = await start(format);
    await call('PATCH', `msdyn_iotdevices(${DEVICE})`, { msdyn_devicesettings: '{"TargetTemperature":19}' });
    const m = await next();
    expect(m).toMatchObject({ contentType });
    expect(Object.keys(m!.properties ?? {}).sort()).toEqual([
      'http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName',
      'http://schemas.microsoft.com/xrm/2011/Claims/InitiatingUser',
      'http://schemas.microsoft.com/xrm/2011/Claims/Organization',
      'http://schemas.microsoft.com/xrm/2011/Claims/RequestName',
      'http://schemas.microsoft.com/xrm/2011/Claims/User',
    ]);
    expect(m!.properties).toMatchObject({
      'http://schemas.microsoft.com/xrm/2011/Claims/Organization': emulator!.url,
      'http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName': 'msdyn_iotdevice',
      'http://schemas.microsoft.com/xrm/2011/Claims/RequestName': 'Update',
    });
    const read = decodeServiceEndpointMessage(m!);
    if (format === ServiceEndpointMessageFormat.BinaryXml) expect(read).toMatchObject({ ok: false, error: { code: 'BinaryXmlNotSupported' } });
    else expect(read).toMatchObject({ ok: true, value: { context: { messageName: 'Update', primaryEntityName: 'msdyn_iotdevice', primaryEntityId: DEVICE } } });
  });

  it('writes Text XML as DataContract XML: the contracts namespace and typed key/value pairs', async () => {
    const { call, next } = await start(ServiceEndpointMessageFormat.TextXml);
    await call('PATCH', `msdyn_iotdevices(${DEVICE})`, { msdyn_devicesettings: '{"TargetTemperature":19}' });
    const text = new TextDecoder().decode((await next())!.body);
    expect(text).toMatch(
      /^<RemoteExecutionContext xmlns="http:\/\/schemas\.microsoft\.com\/xrm\/2011\/Contracts" xmlns:i="http:\/\/www\.w3\.org\/2001\/XMLSchema-instance">/,
    );
    expect(text).toContain('<KeyValuePairOfstringanyType><a:key>Target</a:key><a:value i:type="Entity">');
    expect(decodeRemoteExecutionContextXml(text)).toMatchObject({
      ok: true,
      value: { preEntityImages: { PreImage: { attributes: { msdyn_devicesettings: '{"TargetTemperature":21}' } } } },
    });
  });

  it('over the size limit strips the parameters and images and marks MessageMaxSizeExceeded', async () => {
    const { call, next } = await start(ServiceEndpointMessageFormat.Json, 3_000);
    await call('PATCH', `msdyn_iotdevices(${DEVICE})`, { msdyn_devicesettings: JSON.stringify({ note: 'x'.repeat(2_500) }) });
    const m = await next();
    expect(m!.properties).toMatchObject({ MessageMaxSizeExceeded: true });
    expect(decodeServiceEndpointMessage(m!)).toMatchObject({
      ok: true,
      value: { maxSizeExceeded: true, context: { primaryEntityId: DEVICE, inputParameters: {}, preEntityImages: {}, postEntityImages: {} } },
    });
  });

  it('sends nothing when even the stripped context does not fit', async () => {
    const { call, next } = await start(ServiceEndpointMessageFormat.Json, 200);
    const res = await call('PATCH', `msdyn_iotdevices(${DEVICE})`, { msdyn_devicesettings: '{"TargetTemperature":19}' });
    expect(res.ok).toBe(true);
    expect(await next()).toBeUndefined();
  });

  it('tries a message the queue refused again, with the same message id, and keeps the order of the operations behind it', async () => {
    const outbound = new InMemoryQueue('outbound');
    // The outbound queue refuses every send until the test lets it go (once it has seen the updates
    // answered while their posts wait: with a fixed number of refusals, a slow machine could post
    // them all before that), then three more, as a Service Bus namespace does while busy or unreachable.
    let held = true;
    let refusals = 3;
    const tried: string[] = [];
    const refusing = Object.assign(Object.create(outbound) as InMemoryQueue, {
      send: async (messages: readonly QueueMessage[]): Promise<void> => {
        tried.push(...messages.map((m) => m.messageId));
        if (held || refusals-- > 0) throw Object.assign(new Error('The server is busy.'), { name: 'ServiceBusError' });
        await outbound.send(messages);
      },
    });
    emulator = await startDataverseEmulator({ outboundQueue: refusing, serviceEndpointRetry: { baseMs: 5, maxMs: 20 } });
    // Creating the device posts nothing (the CFS step is on Update of its tags or settings); each update posts one message.
    // The operations succeed at once: the posting is the asynchronous step's work, not the request's.
    expect((await patch('{"TargetTemperature":20}')).ok).toBe(true);
    expect((await patch('{"TargetTemperature":19}')).ok).toBe(true);
    expect((await patch('{"TargetTemperature":18}')).ok).toBe(true);
    expect(emulator.stats().pendingPosts).toBeGreaterThan(0);
    held = false;

    const received: ReceivedQueueMessage[] = [];
    await waitFor('both messages on the queue', async () => {
      received.push(...(await outbound.receive({ maxMessages: 10, maxWaitMs: 0 })));
      return received.length >= 2 ? received : undefined;
    });
    const settings = received.map(postedSettings);
    // In the order of the updates, though the first was refused again and again and the second waited behind it.
    expect(settings).toEqual(['{"TargetTemperature":19}', '{"TargetTemperature":18}']);
    // Each try of a message carried the same message id, so a queue's duplicate detection sees one message.
    expect(new Set(tried).size).toBe(2);
    expect(received.map((m) => m.messageId)).toEqual([...new Set(tried)]);
    expect(emulator.stats()).toMatchObject({ posted: 2, pendingPosts: 0 });
  });

  it('keeps a post with the operation that caused it: one the queue had not taken when the organisation stopped is posted, with its message id, when it starts again on the same database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fieldlink-emulator-posts-'));
    try {
      const database = join(dir, 'organisation.db');
      // A queue that takes nothing (unreachable while the organisation runs, as a process killed before its post would leave it).
      const tried: string[] = [];
      const unreachable = Object.assign(Object.create(new InMemoryQueue('outbound')) as InMemoryQueue, {
        send: async (messages: readonly QueueMessage[]): Promise<void> => {
          tried.push(...messages.map((m) => m.messageId));
          throw Object.assign(new Error('The server is busy.'), { name: 'ServiceBusError' });
        },
      });
      emulator = await startDataverseEmulator({ database, outboundQueue: unreachable, serviceEndpointRetry: { baseMs: 60_000, maxMs: 60_000 } });
      expect((await patch('{"TargetTemperature":20}')).ok).toBe(true);
      expect((await patch('{"TargetTemperature":19}')).ok).toBe(true);
      expect((await patch('{"TargetTemperature":18}')).ok).toBe(true);
      expect(emulator.stats()).toMatchObject({ posted: 0, pendingPosts: 2 });
      await emulator.close();

      const outbound = new InMemoryQueue('outbound');
      emulator = await startDataverseEmulator({ database, outboundQueue: outbound });
      const received = await outbound.receive({ maxMessages: 10, maxWaitMs: 0 });
      const settings = received.map(postedSettings);
      // Both updates' posts, in order; the one tried before under the message id it had then (a queue's duplicate detection sees one message).
      expect(settings).toEqual(['{"TargetTemperature":19}', '{"TargetTemperature":18}']);
      expect(new Set(tried)).toEqual(new Set([received[0]!.messageId]));
      expect(received[1]!.messageId).not.toBe(received[0]!.messageId);
      expect(emulator.stats()).toMatchObject({ posted: 2, pendingPosts: 0 });
      // Posted once: a third start posts nothing again.
      await emulator.close();
      const again = new InMemoryQueue('outbound');
      emulator = await startDataverseEmulator({ database, outboundQueue: again });
      expect(await again.receive({ maxMessages: 10, maxWaitMs: 0 })).toEqual([]);
    } finally {
      await emulator?.close();
      emulator = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('keeps no post where no service endpoint is registered: an organisation started without a queue leaves nothing for a later start to post', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fieldlink-emulator-posts-'));
    try {
      const database = join(dir, 'organisation.db');
      emulator = await startDataverseEmulator({ database });
      expect((await patch('{"TargetTemperature":20}')).ok).toBe(true);
      expect((await patch('{"TargetTemperature":19}')).ok).toBe(true);
      await emulator.close();
      const outbound = new InMemoryQueue('outbound');
      emulator = await startDataverseEmulator({ database, outboundQueue: outbound });
      expect(await outbound.receive({ maxMessages: 10, maxWaitMs: 0 })).toEqual([]);
      expect(emulator.stats()).toMatchObject({ posted: 0, pendingPosts: 0 });
    } finally {
      await emulator?.close();
      emulator = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
