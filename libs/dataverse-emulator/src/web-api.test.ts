import { afterEach, describe, expect, it } from 'vitest';
import { startDataverseEmulator, type RunningDataverseEmulator } from './dataverse-emulator.js';

let emulator: RunningDataverseEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(`${emulator!.webApiUrl}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer test-token', ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
};

describe('the emulated Web API, spoken to over plain HTTP', () => {
  it('creates with OData-EntityId or return=representation (with its @odata.context), and refuses an alternate key the stock organisation does not have', async () => {
    emulator = await startDataverseEmulator();
    const created = await call('POST', 'msdyn_iotdevices', { msdyn_name: 'Lobby', msdyn_deviceid: "o'brien" });
    expect(created.status).toBe(204);
    expect(created.headers.get('odata-entityid')).toMatch(/msdyn_iotdevices\([0-9a-f-]{36}\)$/);
    const shown = await call('POST', 'msdyn_customerassets?$select=msdyn_name', { msdyn_name: 'HVAC' }, { Prefer: 'return=representation' });
    expect(shown.status).toBe(201);
    expect(shown.json).toMatchObject({
      '@odata.context': `${emulator.webApiUrl}$metadata#msdyn_customerassets(msdyn_name)/$entity`,
      msdyn_name: 'HVAC',
      '@odata.etag': 'W/"1"',
    });
    const id = String(shown.json.msdyn_customerassetid);
    expect((await call('GET', `msdyn_customerassets(${id})`)).json['@odata.context']).toBe(`${emulator.webApiUrl}$metadata#msdyn_customerassets/$entity`);
    expect((await call('GET', 'msdyn_customerassets?$select=msdyn_name')).json['@odata.context']).toBe(
      `${emulator.webApiUrl}$metadata#msdyn_customerassets(msdyn_name)`,
    );

    const byKey = `msdyn_iotdevices(msdyn_deviceid='${encodeURIComponent("o''brien")}')`;
    expect((await call('GET', `${byKey}?$select=msdyn_name`)).json.error.message).toContain("is not an alternate key of the entity 'msdyn_iotdevice'");
    expect((await call('GET', `msdyn_iotdevices?$filter=${encodeURIComponent("msdyn_deviceid eq 'o''brien'")}&$select=msdyn_name`)).json.value).toMatchObject([
      { msdyn_name: 'Lobby' },
    ]);
  });

  it('gives every write a new ETag and applies a PATCH with If-Match only while the ETag is current (412 otherwise, the record unchanged)', async () => {
    emulator = await startDataverseEmulator();
    const created = await call(
      'POST',
      'msdyn_iotdevicecommands?$select=msdyn_commandstatusreason',
      { msdyn_name: 'Reset', msdyn_commandstatusreason: 'requested' },
      { Prefer: 'return=representation' },
    );
    const id = String(created.json.msdyn_iotdevicecommandid);
    const byId = `msdyn_iotdevicecommands(${id})`;
    const read = await call('GET', `${byId}?$select=msdyn_commandstatusreason`);
    const etag = String(read.json['@odata.etag']);
    expect(etag).toBe(created.json['@odata.etag']);
    // Another writer moves the command on: the row's ETag changes.
    expect((await call('PATCH', byId, { msdyn_commandstatusreason: 'delivered' }, { 'If-Match': '*' })).status).toBe(204);
    const moved = await call('GET', `${byId}?$select=msdyn_commandstatusreason`);
    expect(moved.json['@odata.etag']).not.toBe(etag);
    const stale = await call('PATCH', byId, { msdyn_commandstatusreason: 'sent' }, { 'If-Match': etag });
    expect(stale).toMatchObject({ status: 412, json: { error: { code: '0x80060882' } } });
    expect((await call('GET', `${byId}?$select=msdyn_commandstatusreason`)).json).toMatchObject({
      msdyn_commandstatusreason: 'delivered',
      '@odata.etag': moved.json['@odata.etag'],
    });
    expect((await call('PATCH', byId, { msdyn_commandstatusreason: 'acknowledged' }, { 'If-Match': String(moved.json['@odata.etag']) })).status).toBe(204);
    expect((await call('GET', `${byId}?$select=msdyn_commandstatusreason`)).json).toMatchObject({ msdyn_commandstatusreason: 'acknowledged' });
  });

  it("answers in Dataverse's error format: too long, unknown property, bad filter", async () => {
    emulator = await startDataverseEmulator();
    const tooLong = await call('POST', 'msdyn_iotalerts', { msdyn_description: 'x'.repeat(101) });
    expect(tooLong).toMatchObject({
      status: 400,
      json: { error: { code: '0x80044331', message: expect.stringContaining("maximum allowed length of '100'") } },
    });
    expect((await call('POST', 'msdyn_iotalerts', { msdyn_nonsense: 1 })).json.error.message).toContain("Invalid property 'msdyn_nonsense'");
    expect((await call('GET', `msdyn_iotalerts?$filter=${encodeURIComponent("msdyn_deviceid eq 'x")}`)).status).toBe(400);
  });

  describe('the stock organisation with CFS installed, and nothing more', () => {
    it('refuses a column that is not in the stock schema, in a body, $select, $filter and $orderby, naming it', async () => {
      emulator = await startDataverseEmulator();
      const body = await call('POST', 'msdyn_iotdevices', { msdyn_name: 'Lobby', fl_devicetype: 'Thermostat' });
      expect(body).toMatchObject({
        status: 400,
        json: {
          error: {
            code: '0x80048d19',
            message: expect.stringContaining("Invalid property 'fl_devicetype' was found in entity 'Microsoft.Dynamics.CRM.msdyn_iotdevice'"),
          },
        },
      });
      for (const query of [
        '$select=msdyn_name,fl_commandstate',
        `$filter=${encodeURIComponent("fl_commandstate eq 'sent'")}`,
        '$orderby=fl_commandstate desc',
      ]) {
        const read = await call('GET', `msdyn_iotdevicecommands?${query}`);
        expect(read).toMatchObject({
          status: 400,
          json: {
            error: { code: '0x0', message: "Could not find a property named 'fl_commandstate' on type 'Microsoft.Dynamics.CRM.msdyn_iotdevicecommand'." },
          },
        });
      }
      // Columns that other generations of the emulator invented are not there either.
      expect((await call('POST', 'msdyn_iotdevices', { msdyn_name: 'x', msdyn_connected: true })).status).toBe(400);
      expect((await call('GET', 'msdyn_iotdevicedatahistories')).status).toBe(404);
    });

    it('refuses a lookup bound under a navigation name of the wrong case, and takes the stock name', async () => {
      emulator = await startDataverseEmulator();
      const device = await call('POST', 'msdyn_iotdevices', { msdyn_name: 'Lobby', msdyn_deviceid: 'lobby-1' }, { Prefer: 'return=representation' });
      const deviceId = String(device.json.msdyn_iotdeviceid);
      const wrongCase = await call('POST', 'msdyn_iotalerts', { msdyn_description: 'hot', 'msdyn_device@odata.bind': `/msdyn_iotdevices(${deviceId})` });
      expect(wrongCase).toMatchObject({
        status: 400,
        json: { error: { message: expect.stringContaining("An undeclared property 'msdyn_device' which only has property annotations in the payload") } },
      });
      const right = await call(
        'POST',
        'msdyn_iotalerts?$select=_msdyn_device_value',
        { msdyn_description: 'hot', 'msdyn_Device@odata.bind': `/msdyn_iotdevices(${deviceId})` },
        { Prefer: 'return=representation' },
      );
      expect(right).toMatchObject({ status: 201, json: { _msdyn_device_value: deviceId } });
      expect(
        (await call('GET', `msdyn_iotalerts(${String(right.json.msdyn_iotalertid)})?$expand=msdyn_Device($select=msdyn_name)`)).json.msdyn_Device,
      ).toMatchObject({ msdyn_name: 'Lobby' });
      expect((await call('GET', `msdyn_iotalerts(${String(right.json.msdyn_iotalertid)})?$expand=msdyn_device`)).status).toBe(400);
    });

    it('enforces option values and the stock lengths', async () => {
      emulator = await startDataverseEmulator();
      const badOption = await call('POST', 'msdyn_iotdevicecommands', { msdyn_name: 'Reset', msdyn_commandstatus: 5 });
      expect(badOption).toMatchObject({
        status: 400,
        json: { error: { code: '0x8004431a', message: expect.stringContaining('Accepted Values: 192350000,192350001,192350002') } },
      });
      expect((await call('POST', 'msdyn_iotdevicecommands', { msdyn_name: 'Reset', msdyn_commandstatus: 192350002 })).status).toBe(204);
      expect((await call('POST', 'msdyn_iotdevices', { msdyn_name: 'x', msdyn_deviceid: 'd'.repeat(101) })).json.error.code).toBe('0x80044331');
      expect((await call('POST', 'msdyn_iotdevices', { msdyn_name: 'x', msdyn_tags: 't'.repeat(8001) })).json.error.message).toContain(
        "maximum allowed length of '8000'",
      );
      expect(
        (await call('POST', 'msdyn_iotdevicedatahistory', { msdyn_iothubdeviceid: 'd', msdyn_status: 192350000, msdyn_connectionstate: 'Connected' })).json
          .error.message,
      ).toContain('Edm.Boolean');
    });

    it('associates a case with a customer asset over the many-to-many relationship, and expands it', async () => {
      emulator = await startDataverseEmulator();
      const asset = await call('POST', 'msdyn_customerassets', { msdyn_name: 'HVAC' }, { Prefer: 'return=representation' });
      const incident = await call('POST', 'incidents', { title: 'Too hot' }, { Prefer: 'return=representation' });
      const assetId = String(asset.json.msdyn_customerassetid);
      const caseId = String(incident.json.incidentid);
      expect(
        (
          await call('POST', `incidents(${caseId})/msdyn_incident_msdyn_customerasset/$ref`, {
            '@odata.id': `${emulator.webApiUrl}msdyn_customerassets(${assetId})`,
          })
        ).status,
      ).toBe(204);
      expect((await call('GET', `incidents(${caseId})/msdyn_incident_msdyn_customerasset?$select=msdyn_name`)).json.value).toMatchObject([
        { msdyn_customerassetid: assetId, msdyn_name: 'HVAC' },
      ]);
      expect(
        (await call('GET', `msdyn_customerassets(${assetId})?$expand=msdyn_incident_msdyn_customerasset($select=title)`)).json
          .msdyn_incident_msdyn_customerasset,
      ).toMatchObject([{ incidentid: caseId, title: 'Too hot' }]);
    });

    it('does what the CFS plug-in does to an alert created with the five Logic App columns: device, its asset, its parent', async () => {
      emulator = await startDataverseEmulator();
      const device = await call('POST', 'msdyn_iotdevices', { msdyn_name: 'Lobby', msdyn_deviceid: 'lobby-1' }, { Prefer: 'return=representation' });
      const asset = await call('POST', 'msdyn_customerassets', { msdyn_name: 'HVAC', msdyn_deviceid: 'lobby-1' }, { Prefer: 'return=representation' });
      await call('POST', 'msdyn_iotsettingses', { msdyn_name: 'IoT settings', msdyn_iotalertaggregationrule: '{"TimespanSeconds":60}' });
      const logicApp = (token: string, time: string) => ({
        msdyn_alertdata: '{"reading":86}',
        msdyn_alerttime: time,
        msdyn_alerttoken: token,
        msdyn_description: 'Temperature reading of 86 exceeded a threshold of 70',
        msdyn_deviceid: 'lobby-1',
      });
      const select = '$select=_msdyn_device_value,_msdyn_customerasset_value,_msdyn_parentalert_value';
      const first = await call('POST', `msdyn_iotalerts?${select}`, logicApp('t1', '2026-11-28T09:15:00Z'), { Prefer: 'return=representation' });
      expect(first.json).toMatchObject({
        _msdyn_device_value: device.json.msdyn_iotdeviceid,
        _msdyn_customerasset_value: asset.json.msdyn_customerassetid,
        _msdyn_parentalert_value: null,
      });
      const second = await call('POST', `msdyn_iotalerts?${select}`, logicApp('t2', '2026-11-28T09:15:40Z'), { Prefer: 'return=representation' });
      expect(second.json._msdyn_parentalert_value).toBe(first.json.msdyn_iotalertid);
      const later = await call('POST', `msdyn_iotalerts?${select}`, logicApp('t3', '2026-11-28T09:20:00Z'), { Prefer: 'return=representation' });
      expect(later.json._msdyn_parentalert_value).toBeNull();
    });
  });

  it('rolls a failing changeset back whole', async () => {
    emulator = await startDataverseEmulator();
    const boundary = 'batch_1';
    const changeset = 'changeset_1';
    const op = (id: number, body: unknown) =>
      [
        `--${changeset}`,
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        `Content-ID: ${id}`,
        '',
        `POST ${emulator!.webApiUrl}msdyn_customerassets HTTP/1.1`,
        'Content-Type: application/json',
        '',
        JSON.stringify(body),
      ].join('\r\n');
    const body = [
      `--${boundary}`,
      `Content-Type: multipart/mixed;boundary=${changeset}`,
      '',
      op(1, { msdyn_name: 'kept?' }),
      op(2, { msdyn_name: 'x'.repeat(200) }),
      `--${changeset}--`,
      `--${boundary}--`,
      '',
    ].join('\r\n');
    const res = await fetch(`${emulator.webApiUrl}$batch`, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/mixed;boundary=${boundary}`, Authorization: 'Bearer test-token' },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/HTTP\/1.1 400 Bad Request/);
    expect(emulator.count('msdyn_customerassets')).toBe(0);
  });
});
