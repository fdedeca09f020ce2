import { afterEach, describe, expect, it } from 'vitest';
import { startDataverseEmulator, type RunningDataverseEmulator } from './dataverse-emulator.js';

let emulator: RunningDataverseEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(`${emulator!.webApiUrl}${path}`, { method, headers: { 'Content-Type': 'application/json', Authorization: 'Bearer test-token', ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
};

describe('the emulated Web API, spoken to over plain HTTP', () => {
  it('creates with OData-EntityId or return=representation, and upserts by alternate key with If-None-Match', async () => {
    emulator = await startDataverseEmulator();
    const created = await call('POST', 'msdyn_iotdevices', { msdyn_name: 'Lobby', msdyn_deviceid: "o'brien" });
    expect(created.status).toBe(204);
    expect(created.headers.get('odata-entityid')).toMatch(/msdyn_iotdevices\([0-9a-f-]{36}\)$/);
    const shown = await call('POST', 'msdyn_customerassets?$select=msdyn_name', { msdyn_name: 'HVAC' }, { Prefer: 'return=representation' });
    expect(shown.status).toBe(201);
    expect(shown.json).toMatchObject({ msdyn_name: 'HVAC', '@odata.etag': 'W/"1"' });

    const byKey = `msdyn_iotdevices(msdyn_deviceid='${encodeURIComponent("o''brien")}')`;
    expect((await call('GET', `${byKey}?$select=msdyn_name`)).json).toMatchObject({ msdyn_name: 'Lobby' });
    expect((await call('PATCH', byKey, { msdyn_name: 'again' }, { 'If-None-Match': '*' })).status).toBe(412);
    expect((await call('PATCH', `msdyn_iotdevices(msdyn_deviceid='nobody')`, { msdyn_name: 'x' }, { 'If-Match': '*' })).status).toBe(404);
    expect((await call('PATCH', `msdyn_iotdevices(msdyn_deviceid='new-one')`, { msdyn_name: 'made by upsert' })).status).toBe(204);
    expect((await call('GET', `msdyn_iotdevices?$filter=${encodeURIComponent("msdyn_deviceid eq 'new-one'")}&$select=msdyn_name`)).json.value).toMatchObject([{ msdyn_name: 'made by upsert' }]);
  });

  it('gives every write a new ETag and applies a PATCH with If-Match only while the ETag is current (412 otherwise, the record unchanged)', async () => {
    emulator = await startDataverseEmulator();
    const created = await call('POST', 'msdyn_iotdevicecommands?$select=fl_commandstate', { msdyn_name: 'Reset', fl_commandstate: 'requested' }, { Prefer: 'return=representation' });
    const id = String(created.json.msdyn_iotdevicecommandid);
    const byId = `msdyn_iotdevicecommands(${id})`;
    const read = await call('GET', `${byId}?$select=fl_commandstate`);
    const etag = String(read.json['@odata.etag']);
    expect(etag).toBe(created.json['@odata.etag']);
    // Another writer moves the command on: the row's ETag changes.
    expect((await call('PATCH', byId, { fl_commandstate: 'delivered' }, { 'If-Match': '*' })).status).toBe(204);
    const moved = await call('GET', `${byId}?$select=fl_commandstate`);
    expect(moved.json['@odata.etag']).not.toBe(etag);
    const stale = await call('PATCH', byId, { fl_commandstate: 'sent' }, { 'If-Match': etag });
    expect(stale).toMatchObject({ status: 412, json: { error: { code: '0x80060882' } } });
    expect((await call('GET', `${byId}?$select=fl_commandstate`)).json).toMatchObject({ fl_commandstate: 'delivered', '@odata.etag': moved.json['@odata.etag'] });
    expect((await call('PATCH', byId, { fl_commandstate: 'acknowledged' }, { 'If-Match': String(moved.json['@odata.etag']) })).status).toBe(204);
    expect((await call('GET', `${byId}?$select=fl_commandstate`)).json).toMatchObject({ fl_commandstate: 'acknowledged' });
  });

  it("answers in Dataverse's error format: too long, unknown property, bad filter", async () => {
    emulator = await startDataverseEmulator();
    const tooLong = await call('POST', 'msdyn_iotalerts', { msdyn_description: 'x'.repeat(101) });
    expect(tooLong).toMatchObject({ status: 400, json: { error: { code: '0x80044331', message: expect.stringContaining("maximum allowed length of '100'") } } });
    expect((await call('POST', 'msdyn_iotalerts', { msdyn_nonsense: 1 })).json.error.message).toContain("Invalid property 'msdyn_nonsense'");
    expect((await call('GET', `msdyn_iotalerts?$filter=${encodeURIComponent("msdyn_deviceid eq 'x")}`)).status).toBe(400);
  });

  it('rolls a failing changeset back whole', async () => {
    emulator = await startDataverseEmulator();
    const boundary = 'batch_1';
    const changeset = 'changeset_1';
    const op = (id: number, body: unknown) => [`--${changeset}`, 'Content-Type: application/http', 'Content-Transfer-Encoding: binary', `Content-ID: ${id}`, '', `POST ${emulator!.webApiUrl}msdyn_customerassets HTTP/1.1`, 'Content-Type: application/json', '', JSON.stringify(body)].join('\r\n');
    const body = [`--${boundary}`, `Content-Type: multipart/mixed;boundary=${changeset}`, '', op(1, { msdyn_name: 'kept?' }), op(2, { msdyn_name: 'x'.repeat(200) }), `--${changeset}--`, `--${boundary}--`, ''].join('\r\n');
    const res = await fetch(`${emulator.webApiUrl}$batch`, { method: 'POST', headers: { 'Content-Type': `multipart/mixed;boundary=${boundary}`, Authorization: 'Bearer test-token' }, body });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/HTTP\/1.1 400 Bad Request/);
    expect(emulator.count('msdyn_customerassets')).toBe(0);
  });
});
