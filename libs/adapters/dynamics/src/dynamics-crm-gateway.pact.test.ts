// Consumer side of the Dataverse Web API calls (flows 7–12, the command status of 16–19, the
// registration results of 18″, and the device data of the pull): the real Dynamics adapter against Pact's mock Dataverse. Table, column,
// navigation and option-set values are those of a stock organisation with CFS and stay literal;
// ids, texts and times are matched by shape. Option values are looked up by their label in
// Microsoft's published schema (the emulator's copy of the stock schema), and the examples come
// from the CFS fixtures, never from the adapter's own encoding.
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AlertState, AlertStatus, AlertType, CfsCommandStatus, RegistrationStatus } from '@fieldlink/domain';
import { settled } from '@fieldlink/contracts/testing';
import { CrmError } from '@fieldlink/ports';
import { MatchersV3, PactV4, type V3MockServer } from '@pact-foundation/pact';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamicsCrmGateway } from './dynamics-crm-gateway.js';
import { deterministicGuid } from './deterministic-id.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const { eachLike, like, regex, integer, fromProviderState } = MatchersV3;
const PACTS = fileURLToPath(new URL('../../../../contracts/pacts/', import.meta.url));
const cfs = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../../../fixtures/cfs/${name}`, import.meta.url), 'utf8'));
const [cfsAlert] = cfs('alerts-queue.message.json') as Array<{ deviceid: string; eventtoken: string; time: string }>;
const createCommandContext = cfs('remote-execution-context.create-command.json') as {
  PrimaryEntityId: string;
  InputParameters: Array<{ value: { Attributes: Array<{ key: string; value: unknown }> } }>;
};
const commandAttribute = (key: string): unknown => createCommandContext.InputParameters[0]!.value.Attributes.find((a) => a.key === key)?.value;

const stockSchema = JSON.parse(readFileSync(new URL('../../../dataverse-emulator/schema/dataverse-stock-schema.json', import.meta.url), 'utf8')) as {
  tables: Record<string, { entitySet: string; columns: Record<string, { options?: Record<string, string> }> }>;
};
/** The value of an option by its label in the stock schema (`option('msdyn_iotdevicecommand', 'msdyn_commandstatus', 'Sent')`). */
const option = (table: string, column: string, label: string): number => {
  const found = Object.entries(stockSchema.tables[table]!.columns[column]!.options!).find(([, l]) => l === label || l.startsWith(`${label} (`));
  if (found === undefined) throw new Error(`no option ${label} of ${table}.${column} in the stock schema`);
  return Number(found[0]);
};
const set = (table: string): string => stockSchema.tables[table]!.entitySet;

const GUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const API = '/api/data/v9.2';
const DEVICE_ID = cfsAlert!.deviceid;
const DEVICE_RECORD_ID = (commandAttribute('msdyn_device') as { Id: string }).Id;
const COMMAND_ID = createCommandContext.PrimaryEntityId;
const ALERT_ID = 'a1e2f3a4-0000-4000-8000-0000000000a1';
const ALERT_TIME = '2026-11-28T09:15:02Z';
const ETAG = '^W/"\\d+"$';
const ISO_SECONDS = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$';
const ALERT_COLUMNS =
  'msdyn_iotalertid,msdyn_alerttoken,msdyn_deviceid,msdyn_description,msdyn_alertdata,msdyn_alerttime,msdyn_alerttype,statecode,statuscode,_msdyn_device_value,_msdyn_customerasset_value,_msdyn_parentalert_value,_msdyn_case_value,_msdyn_lastcommandsent_value';
const DEVICE_COLUMNS =
  'msdyn_iotdeviceid,msdyn_deviceid,msdyn_name,_msdyn_category_value,msdyn_tags,msdyn_devicesettings,msdyn_registrationstatus,msdyn_registrationmessage';
const CATEGORY_ID = 'ca7e0000-0000-4000-8000-00000000000c';
const ASSET_ID = 'a55e7000-0000-4000-8000-00000000000a';
const COMMAND_STATUS = {
  InProgress: option('msdyn_iotdevicecommand', 'msdyn_commandstatus', 'In Progress'),
  Sent: option('msdyn_iotdevicecommand', 'msdyn_commandstatus', 'Sent'),
} as const;
const JSON_RESPONSE = { 'Content-Type': regex('^application/json.*$', 'application/json; odata.metadata=minimal') };
const WRITE_HEADERS = { 'Content-Type': regex('^application/json.*$', 'application/json; charset=utf-8') };

const device = {
  deviceRecordId: DEVICE_RECORD_ID,
  deviceId: DEVICE_ID,
  name: 'Thermostat 1',
  deviceType: 'Thermostat',
  categoryId: CATEGORY_ID,
  customerAssetId: ASSET_ID,
};
const storedAlert = { ...device, alertId: ALERT_ID, alertToken: 'b7a1c2d3-0000-4000-8000-000000000001', alertTime: ALERT_TIME };

const pact = new PactV4({ consumer: 'fieldlink-dynamics-adapter', provider: 'dataverse-web-api', dir: PACTS, logLevel: 'error' });
/** The one read of the organisation's metadata a new adapter makes before a command write: a stock organisation has no extension column. */
function stockOrganisationMetadata(state: string, params: Record<string, string>): void {
  pact
    .addInteraction()
    .given(state, params)
    .uponReceiving('look for the extension column of the command table')
    .withRequest('GET', `${API}/EntityDefinitions(LogicalName='msdyn_iotdevicecommand')/Attributes`, (b) =>
      b.query({ $select: 'LogicalName', $filter: "LogicalName eq 'fl_commandstate'" }),
    )
    .willRespondWith(200, (b) => b.headers(JSON_RESPONSE).jsonBody({ value: [] }));
}

const adapterOn = (server: V3MockServer): DynamicsCrmGateway =>
  new DynamicsCrmGateway({ organizationUrl: server.url, allowAnonymous: true, requestTimeoutMs: 5_000 });
const path = (set: string, example: string): ReturnType<typeof regex> => regex(`^${API}/${set}\\(${GUID}\\)$`, `${API}/${set}(${example})`);

/** The status both conditional writes of the pact make: delivered, on condition the command is still sent. */
const DELIVERED = { state: 'delivered', cfsStatus: CfsCommandStatus.Sent, statusReason: 'Delivered to the device' } as const;

/**
 * The two requests of a conditional status write under one provider state: the read of the
 * command's state with its ETag, then the PATCH whose If-Match is the ETag the provider state
 * hands over (`write.etag`, e.g. `${etag}`). Returns the PATCH, for its response.
 */
function conditionalStatusWrite(state: string, read: { description: string; state: unknown }, write: { description: string; etag: string }) {
  const params = { ...device, commandId: COMMAND_ID };
  stockOrganisationMetadata(state, params);
  pact
    .addInteraction()
    .given(state, params)
    .uponReceiving(read.description)
    .withRequest('GET', path('msdyn_iotdevicecommands', COMMAND_ID), (b) => b.query({ $select: 'msdyn_commandstatus,msdyn_commandstatusreason' }))
    .willRespondWith(200, (b) =>
      b
        .headers(JSON_RESPONSE)
        .jsonBody({ '@odata.etag': regex(ETAG, 'W/"7"'), msdyn_commandstatus: COMMAND_STATUS.Sent, msdyn_commandstatusreason: read.state }),
    );
  return pact
    .addInteraction()
    .given(state, params)
    .uponReceiving(write.description)
    .withRequest('PATCH', path('msdyn_iotdevicecommands', COMMAND_ID), (b) =>
      b.headers({ ...WRITE_HEADERS, 'If-Match': fromProviderState(write.etag, 'W/"7"') }).jsonBody({
        msdyn_commandstatus: COMMAND_STATUS.Sent,
        msdyn_commandstatusreason: regex('^\\[Fieldlink: delivered\\]( .*)?$', `[Fieldlink: delivered] ${DELIVERED.statusReason}`),
      }),
    );
}

describe('dynamics adapter ← Dataverse Web API', () => {
  beforeAll(() => rmSync(`${PACTS}fieldlink-dynamics-adapter-dataverse-web-api.json`, { force: true }));

  it('finds the IoT device (msdyn_iotdevice) by its hub device id, with its category and the customer asset that names it (flows 7–9)', async () => {
    pact
      .addInteraction()
      .given('an IoT device is in CRM', device)
      .uponReceiving('find the IoT device by its device id')
      .withRequest('GET', `${API}/msdyn_iotdevices`, (b) => b.query({ $select: DEVICE_COLUMNS, $filter: `msdyn_deviceid eq '${DEVICE_ID}'`, $top: '2' }))
      .willRespondWith(200, (b) =>
        b.headers(JSON_RESPONSE).jsonBody({
          value: eachLike({
            msdyn_iotdeviceid: regex(GUID, DEVICE_RECORD_ID),
            msdyn_deviceid: like(DEVICE_ID),
            msdyn_name: like(device.name),
            _msdyn_category_value: regex(GUID, CATEGORY_ID),
            msdyn_registrationstatus: integer(option('msdyn_iotdevice', 'msdyn_registrationstatus', 'Unknown')),
          }),
        }),
      );
    pact
      .addInteraction()
      .given('an IoT device is in CRM', device)
      .uponReceiving("read the name of the IoT device's category")
      .withRequest('GET', regex(`^${API}/msdyn_iotdevicecategories\\(${GUID}\\)$`, `${API}/msdyn_iotdevicecategories(${CATEGORY_ID})`), (b) =>
        b.query({ $select: 'msdyn_name' }),
      )
      .willRespondWith(200, (b) => b.headers(JSON_RESPONSE).jsonBody({ msdyn_name: like(device.deviceType) }));
    await pact
      .addInteraction()
      .given('an IoT device is in CRM', device)
      .uponReceiving('find the customer asset that names the device in its msdyn_deviceid')
      .withRequest('GET', `${API}/msdyn_customerassets`, (b) =>
        b.query({ $select: 'msdyn_customerassetid,msdyn_deviceid', $filter: `msdyn_deviceid eq '${DEVICE_ID}'` }),
      )
      .willRespondWith(200, (b) =>
        b.headers(JSON_RESPONSE).jsonBody({ value: eachLike({ msdyn_customerassetid: regex(GUID, ASSET_ID), msdyn_deviceid: like(DEVICE_ID) }) }),
      )
      .executeTest(
        settled(async (server) => {
          expect(await adapterOn(server).findDeviceByHubId(DEVICE_ID)).toMatchObject({
            deviceRecordId: DEVICE_RECORD_ID,
            deviceId: DEVICE_ID,
            name: 'Thermostat 1',
            deviceType: 'Thermostat',
            customerAssetId: ASSET_ID,
          });
        }),
      );
  });

  /** The adapter first looks for the alert by its token, and finds none. */
  const expectNoAlertWithTheToken = (): void => {
    pact
      .addInteraction()
      .given('an IoT device is in CRM', device)
      .uponReceiving('look for an IoT alert by its token')
      .withRequest('GET', `${API}/msdyn_iotalerts`, (b) =>
        b.query({ $select: 'msdyn_iotalertid,msdyn_alerttoken', $filter: `msdyn_alerttoken eq '${cfsAlert!.eventtoken}'` }),
      )
      .willRespondWith(200, (b) => b.headers(JSON_RESPONSE).jsonBody({ value: [] }));
  };
  /** The columns of the CFS alert the CFS Logic App writes, as the adapter sends them. */
  const logicAppColumns = () => ({
    msdyn_alerttoken: like(cfsAlert!.eventtoken),
    msdyn_deviceid: like(DEVICE_ID),
    msdyn_description: like('Temperature reading of 86 exceeded a threshold of 70'),
    msdyn_alertdata: like(JSON.stringify(cfsAlert)),
    msdyn_alerttime: regex(ISO_SECONDS, ALERT_TIME),
    msdyn_alerttype: option('msdyn_iotalert', 'msdyn_alerttype', 'Anomaly'),
  });

  it('creates an IoT alert with only the five columns the CFS Logic App writes, binding nothing, and leaves device, asset and parent to the organisation (flows 7–10)', async () => {
    const alertId = deterministicGuid('msdyn_iotalert', cfsAlert!.eventtoken);
    expectNoAlertWithTheToken();
    await pact
      .addInteraction()
      .given('an IoT device is in CRM', device)
      .uponReceiving('create an IoT alert as the CFS Logic App does')
      .withRequest('PATCH', path('msdyn_iotalerts', alertId), (b) =>
        b.headers({ ...WRITE_HEADERS, 'If-None-Match': '*' }).jsonBody({
          ...logicAppColumns(),
        }),
      )
      .willRespondWith(204)
      .executeTest(
        settled(async (server) => {
          const created = await adapterOn(server).createIoTAlert({
            alertToken: cfsAlert!.eventtoken,
            deviceId: DEVICE_ID,
            description: 'Temperature reading of 86 exceeded a threshold of 70',
            alertData: JSON.stringify(cfsAlert),
            alertTime: Date.parse(cfsAlert!.time),
            alertType: AlertType.Anomaly,
            state: AlertState.Active,
            status: AlertStatus.Active,
          });
          expect(created).toEqual({ alertId, created: true });
        }),
      );
  });

  it('creates the IoT alert (msdyn_iotalert) of the CFS alert under an id made from its token, once (flows 7–9)', async () => {
    const alertId = deterministicGuid('msdyn_iotalert', cfsAlert!.eventtoken);
    expectNoAlertWithTheToken();
    await pact
      .addInteraction()
      .given('an IoT device is in CRM', device)
      .uponReceiving('create an IoT alert')
      .withRequest('PATCH', path('msdyn_iotalerts', alertId), (b) =>
        b.headers({ ...WRITE_HEADERS, 'If-None-Match': '*' }).jsonBody({
          ...logicAppColumns(),
          'msdyn_Device@odata.bind': regex(`^/msdyn_iotdevices\\(${GUID}\\)$`, `/msdyn_iotdevices(${DEVICE_RECORD_ID})`),
        }),
      )
      .willRespondWith(204)
      .executeTest(
        settled(async (server) => {
          const created = await adapterOn(server).createIoTAlert({
            alertToken: cfsAlert!.eventtoken,
            deviceId: DEVICE_ID,
            deviceRecordId: DEVICE_RECORD_ID,
            description: 'Temperature reading of 86 exceeded a threshold of 70',
            alertData: JSON.stringify(cfsAlert),
            alertTime: Date.parse(cfsAlert!.time),
            alertType: AlertType.Anomaly,
            state: AlertState.Active,
            status: AlertStatus.Active,
          });
          expect(created).toEqual({ alertId: expect.stringMatching(new RegExp(`^${GUID}$`)), created: true });
        }),
      );
  });

  it('finds the recent alerts of a device, newest first, to parent a repeat under the active one (flow 10)', async () => {
    await pact
      .addInteraction()
      .given('an IoT alert of a device is in CRM', storedAlert)
      .uponReceiving('find the active alert of a device')
      .withRequest('GET', `${API}/msdyn_iotalerts`, (b) =>
        b.query({
          $select: ALERT_COLUMNS,
          $filter: regex(
            `^msdyn_deviceid eq '${DEVICE_ID}' and msdyn_alerttime ge \\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$`,
            `msdyn_deviceid eq '${DEVICE_ID}' and msdyn_alerttime ge 2026-11-28T09:10:00Z`,
          ),
          $orderby: 'msdyn_alerttime desc,createdon desc',
        }),
      )
      .willRespondWith(200, (b) =>
        b.headers(JSON_RESPONSE).jsonBody({
          value: eachLike({
            msdyn_iotalertid: regex(GUID, ALERT_ID),
            msdyn_alerttoken: like(storedAlert.alertToken),
            msdyn_deviceid: like(DEVICE_ID),
            msdyn_alerttime: regex(ISO_SECONDS, ALERT_TIME),
            statecode: integer(AlertState.Active),
            _msdyn_device_value: regex(GUID, DEVICE_RECORD_ID),
          }),
        }),
      )
      .executeTest(
        settled(async (server) => {
          const recent = await adapterOn(server).findRecentIoTAlerts(DEVICE_ID, Date.parse('2026-11-28T09:10:00Z'));
          expect(recent).toMatchObject([
            { alertId: ALERT_ID, deviceId: DEVICE_ID, deviceRecordId: DEVICE_RECORD_ID, alertTime: Date.parse(ALERT_TIME), state: AlertState.Active },
          ]);
        }),
      );
  });

  it('opens one case (incident) for an alert (flow 11)', async () => {
    pact
      .addInteraction()
      .given('an IoT alert of a device is in CRM', storedAlert)
      .uponReceiving('look for the case of an alert')
      .withRequest('GET', `${API}/incidents`, (b) =>
        b.query({ $select: 'incidentid', $filter: regex(`^_msdyn_iotalert_value eq ${GUID}$`, `_msdyn_iotalert_value eq ${ALERT_ID}`), $top: '1' }),
      )
      .willRespondWith(200, (b) => b.headers(JSON_RESPONSE).jsonBody({ value: [] }));
    await pact
      .addInteraction()
      .given('an IoT alert of a device is in CRM', storedAlert)
      .uponReceiving('create a case for an alert')
      .withRequest('PATCH', path('incidents', deterministicGuid('case', ALERT_ID)), (b) =>
        b.headers({ ...WRITE_HEADERS, 'If-None-Match': '*' }).jsonBody({
          title: like('Thermostat 1: Temperature reading of 86 exceeded a threshold of 70'),
          'msdyn_IoTAlert@odata.bind': regex(`^/msdyn_iotalerts\\(${GUID}\\)$`, `/msdyn_iotalerts(${ALERT_ID})`),
        }),
      )
      .willRespondWith(204)
      .executeTest(
        settled(async (server) => {
          expect(
            await adapterOn(server).createCase({ title: 'Thermostat 1: Temperature reading of 86 exceeded a threshold of 70', alertId: ALERT_ID }),
          ).toMatchObject({ created: true });
        }),
      );
  });

  it('opens one work order (msdyn_workorder) for an alert (flow 11)', async () => {
    pact
      .addInteraction()
      .given('an IoT alert of a device is in CRM', storedAlert)
      .uponReceiving('look for the work order of an alert')
      .withRequest('GET', `${API}/msdyn_workorders`, (b) =>
        b.query({ $select: 'msdyn_workorderid', $filter: regex(`^_msdyn_iotalert_value eq ${GUID}$`, `_msdyn_iotalert_value eq ${ALERT_ID}`), $top: '1' }),
      )
      .willRespondWith(200, (b) => b.headers(JSON_RESPONSE).jsonBody({ value: [] }));
    await pact
      .addInteraction()
      .given('an IoT alert of a device is in CRM', storedAlert)
      .uponReceiving('create a work order for an alert')
      .withRequest('PATCH', path('msdyn_workorders', deterministicGuid('workorder', ALERT_ID)), (b) =>
        b.headers({ ...WRITE_HEADERS, 'If-None-Match': '*' }).jsonBody({
          msdyn_workordersummary: like('Check the thermostat'),
          'msdyn_IoTAlert@odata.bind': regex(`^/msdyn_iotalerts\\(${GUID}\\)$`, `/msdyn_iotalerts(${ALERT_ID})`),
        }),
      )
      .willRespondWith(204)
      .executeTest(
        settled(async (server) => {
          expect(await adapterOn(server).createWorkOrder({ alertId: ALERT_ID, summary: 'Check the thermostat' })).toMatchObject({ created: true });
        }),
      );
  });

  it('records a requested command (msdyn_iotdevicecommand) with the CFS message text and status In Progress (flow 12)', async () => {
    stockOrganisationMetadata('an IoT device is in CRM', device);
    await pact
      .addInteraction()
      .given('an IoT device is in CRM', device)
      .uponReceiving('create an IoT device command')
      .withRequest('PATCH', path('msdyn_iotdevicecommands', COMMAND_ID), (b) =>
        b.headers({ ...WRITE_HEADERS, 'If-None-Match': '*' }).jsonBody({
          msdyn_name: like(String(commandAttribute('msdyn_name'))),
          msdyn_message: like(String(commandAttribute('msdyn_message'))),
          msdyn_deviceid: like(DEVICE_ID),
          msdyn_sendtoallconnecteddevices: false,
          msdyn_commandstatus: COMMAND_STATUS.InProgress,
          'msdyn_Device@odata.bind': regex(`^/msdyn_iotdevices\\(${GUID}\\)$`, `/msdyn_iotdevices(${DEVICE_RECORD_ID})`),
        }),
      )
      .willRespondWith(204)
      .executeTest(
        settled(async (server) => {
          const created = await adapterOn(server).createCommand({
            commandId: COMMAND_ID,
            name: String(commandAttribute('msdyn_name')),
            message: String(commandAttribute('msdyn_message')),
            deviceId: DEVICE_ID,
            deviceRecordId: DEVICE_RECORD_ID,
          });
          expect(created).toEqual({ commandId: COMMAND_ID, created: true });
        }),
      );
  });

  it('writes the status of a command back: Sent (192350001) with its reason (flows 16–19)', async () => {
    stockOrganisationMetadata('an IoT device command is in CRM', { ...device, commandId: COMMAND_ID });
    await pact
      .addInteraction()
      .given('an IoT device command is in CRM', { ...device, commandId: COMMAND_ID })
      .uponReceiving('write the status of a command')
      .withRequest('PATCH', path('msdyn_iotdevicecommands', COMMAND_ID), (b) =>
        b.headers({ ...WRITE_HEADERS, 'If-Match': '*' }).jsonBody({
          msdyn_commandstatus: COMMAND_STATUS.Sent,
          msdyn_commandstatusreason: regex('^\\[Fieldlink: sent\\]( .*)?$', '[Fieldlink: sent] Sent to the device'),
        }),
      )
      .willRespondWith(204)
      .executeTest(
        settled(async (server) => {
          await adapterOn(server).updateCommandStatus(COMMAND_ID, { state: 'sent', cfsStatus: CfsCommandStatus.Sent, statusReason: 'Sent to the device' });
        }),
      );
  });

  it('writes the status of a command only over the row it read: If-Match with the ETag of its read (flows 16–19)', async () => {
    await conditionalStatusWrite(
      'an IoT device command sent to its device is in CRM',
      { description: 'read the state of a command with its ETag', state: '[Fieldlink: sent]' },
      { description: 'write the status of a command if its row is as read', etag: '${etag}' },
    )
      .willRespondWith(204)
      .executeTest(
        settled(async (server) => {
          expect(await adapterOn(server).updateCommandStatus(COMMAND_ID, DELIVERED, { ifState: 'sent' })).toEqual({ ok: true, value: undefined });
        }),
      );
  });

  it('reads a command again after each 412 for a row another writer changed, and gives up as Transient when its attempts run out (flows 16–19)', async () => {
    await conditionalStatusWrite(
      'an IoT device command changed by another writer since its read is in CRM',
      { description: 'read again the state of a command another writer changed', state: regex('^\\[Fieldlink: [a-z]+\\]( .*)?$', '[Fieldlink: sent]') },
      { description: 'write the status of a command over a row changed since its read', etag: '${staleEtag}' },
    )
      .willRespondWith(412, (b) =>
        b
          .headers(JSON_RESPONSE)
          .jsonBody({ error: { code: '0x80060882', message: like('The version of the existing record does not match the RowVersion property provided.') } }),
      )
      .executeTest(
        settled(async (server) => {
          // The mock answers every read with the same row and every write with 412, so the adapter
          // reads, tries and is refused until its attempts run out. (That each retry carries the
          // ETag of its own read is pinned by the unit test against a row server.)
          const failure = await adapterOn(server)
            .updateCommandStatus(COMMAND_ID, DELIVERED, { ifState: 'sent' })
            .catch((e: unknown) => e);
          expect(failure).toBeInstanceOf(CrmError);
          expect(failure).toMatchObject({ code: 'Transient', message: expect.stringContaining('the row changed under each of') });
        }),
      );
  });

  it('writes a registration result onto its device: Registered (192350003) with the message, as an update only (flow 18″)', async () => {
    await pact
      .addInteraction()
      .given('an IoT device being registered is in CRM', device)
      .uponReceiving('write the registration result of a device')
      .withRequest('PATCH', path('msdyn_iotdevices', DEVICE_RECORD_ID), (b) =>
        b.headers({ ...WRITE_HEADERS, 'If-Match': '*' }).jsonBody({
          msdyn_deviceid: like(DEVICE_ID),
          msdyn_registrationstatus: RegistrationStatus.Registered,
          msdyn_registrationmessage: like('Registered'),
        }),
      )
      .willRespondWith(204)
      .executeTest(
        settled(async (server) => {
          await expect(
            adapterOn(server).writeRegistrationResults([
              { deviceRecordId: DEVICE_RECORD_ID, deviceId: DEVICE_ID, status: RegistrationStatus.Registered, message: 'Registered' },
            ]),
          ).resolves.toEqual({ ok: true, value: undefined });
        }),
      );
  });

  it('writes a failed registration onto its device: Error (192350004) with the reason (flow 18″)', async () => {
    await pact
      .addInteraction()
      .given('an IoT device being registered is in CRM', device)
      .uponReceiving('write a failed registration of a device')
      .withRequest('PATCH', path('msdyn_iotdevices', DEVICE_RECORD_ID), (b) =>
        b.headers({ ...WRITE_HEADERS, 'If-Match': '*' }).jsonBody({
          msdyn_deviceid: like(DEVICE_ID),
          msdyn_registrationstatus: RegistrationStatus.Error,
          msdyn_registrationmessage: like('The device registry gave no result for this device'),
        }),
      )
      .willRespondWith(204)
      .executeTest(
        settled(async (server) => {
          await adapterOn(server).writeRegistrationResults([
            {
              deviceRecordId: DEVICE_RECORD_ID,
              deviceId: DEVICE_ID,
              status: RegistrationStatus.Error,
              message: 'The device registry gave no result for this device',
            },
          ]);
        }),
      );
  });

  it('answers the registration result of a device CRM does not hold with DeviceNotFound, and creates none (flow 18″)', async () => {
    const missingRecordId = '0e0e0e0e-0000-4000-8000-000000000018';
    await pact
      .addInteraction()
      .given('no IoT device is in CRM')
      .uponReceiving('write the registration result of a device that is not in CRM')
      .withRequest('PATCH', path('msdyn_iotdevices', missingRecordId), (b) =>
        b.headers({ ...WRITE_HEADERS, 'If-Match': '*' }).jsonBody({
          msdyn_deviceid: like(DEVICE_ID),
          msdyn_registrationstatus: RegistrationStatus.Registered,
          msdyn_registrationmessage: like('Registered'),
        }),
      )
      .willRespondWith(404, (b) =>
        b
          .headers(JSON_RESPONSE)
          .jsonBody({ error: { code: like('0x80040217'), message: like(`msdyn_iotdevice With Id = ${missingRecordId} Does Not Exist`) } }),
      )
      .executeTest(
        settled(async (server) => {
          const written = await adapterOn(server).writeRegistrationResults([
            { deviceRecordId: missingRecordId, deviceId: DEVICE_ID, status: RegistrationStatus.Registered, message: 'Registered' },
          ]);
          expect(written).toMatchObject({ ok: false, error: { code: 'DeviceNotFound', deviceRecordIds: [missingRecordId] } });
        }),
      );
  });

  it('keeps what a pull read of a twin as device data history (msdyn_iotdevicedatahistory) (later CFS: pull device data)', async () => {
    await pact
      .addInteraction()
      .given('an IoT device is in CRM', device)
      .uponReceiving('create a device data history record')
      .withRequest('PATCH', path(set('msdyn_iotdevicedatahistory'), '0d0d0d0d-0000-4000-8000-000000000001'), (b) =>
        b.headers({ ...WRITE_HEADERS, 'If-None-Match': '*' }).jsonBody({
          msdyn_name: like(DEVICE_ID),
          msdyn_iothubdeviceid: like(DEVICE_ID),
          msdyn_connectionstate: true,
          msdyn_connectionstateupdatedtime: regex(ISO_SECONDS, '2026-11-28T09:16:00Z'),
          msdyn_lastactivitytime: regex(ISO_SECONDS, ALERT_TIME),
          msdyn_devicereportedproperties: like('{"firmware":"1.0"}'),
          msdyn_status: option('msdyn_iotdevicedatahistory', 'msdyn_status', 'Enabled'),
          'msdyn_Device@odata.bind': regex(`^/msdyn_iotdevices\\(${GUID}\\)$`, `/msdyn_iotdevices(${DEVICE_RECORD_ID})`),
        }),
      )
      .willRespondWith(204)
      .executeTest(
        settled(async (server) => {
          await adapterOn(server).addDeviceDataHistory({
            deviceId: DEVICE_ID,
            deviceRecordId: DEVICE_RECORD_ID,
            connectionState: 'Connected',
            lastActivityTime: Date.parse(ALERT_TIME),
            reportedProperties: '{"firmware":"1.0"}',
            recordedOn: Date.parse('2026-11-28T09:16:00Z'),
          });
        }),
      );
  });
});
