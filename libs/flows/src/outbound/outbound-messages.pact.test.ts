// Consumer side of flows 13–15: what the orchestrator's outbound flow needs of the
// RemoteExecutionContext messages a Dataverse service endpoint puts on the outbound queue. Every
// example is a CFS fixture (fixtures/cfs, one per message kind), never the output of our own
// encoder; names CFS fixes (message names, entity names, `__type`, attribute keys, option-set
// values) stay literal, the rest is matched by shape. The metadata is what the endpoint sets on
// the Service Bus message: the content type of its Json format and the RequestName and
// EntityLogicalName claims.
import { aCrmDevice } from '@fieldlink/ports/testing';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InMemoryCloudToDevice, InMemoryCrm, InMemoryDeviceRegistry, InMemoryQueue, ManualClock, SequentialIds } from '@fieldlink/adapter-in-memory';
import { BUILT_IN_DEVICE_TYPES, CfsCommandStatus, RegistrationStatus } from '@fieldlink/domain';
import { ServiceEndpointProperty, silentLog } from '@fieldlink/ports';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deviceTypeCommandCatalog } from '../commands/command-catalog.js';
import { CommandDispatch } from '../commands/command-dispatch.js';
import { DeviceDataPull } from '../device-data/device-data-pull.js';
import { DeviceRegistrations } from '../registration/device-registration.js';
import { OutboundMessages } from './outbound-messages.js';
import { QueueProcessor } from '../shared/queue-processor.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const { arrayContaining, like, regex } = MatchersV3;
const PACTS = fileURLToPath(new URL('../../../../contracts/pacts/', import.meta.url));
const GUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const DATAVERSE_DATE = '^/Date\\(-?\\d+([+-]\\d{4})?\\)/$';
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const cfs = (name: string): Record<string, Json> =>
  JSON.parse(readFileSync(new URL(`../../../../fixtures/cfs/${name}`, import.meta.url), 'utf8')) as Record<string, Json>;

/** Keys whose values CFS fixes: kept literal. */
const LITERAL_KEYS = new Set(['MessageName', 'PrimaryEntityName', '__type', 'LogicalName', 'key', 'Value']);
const isKeyValueList = (v: Json[]): boolean => v.length > 0 && v.every((e) => typeof e === 'object' && e !== null && !Array.isArray(e) && 'key' in e);

/** The example as matchers: literal where CFS fixes the value, by shape elsewhere; `{key, value}` lists match in any order. */
function shapeOf(value: Json, key = ''): unknown {
  if (value === null) return null;
  if (Array.isArray(value)) return isKeyValueList(value) ? arrayContaining(...value.map((e) => shapeOf(e))) : value.map((e) => shapeOf(e));
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v, k)]));
  if (LITERAL_KEYS.has(key) || typeof value === 'boolean') return value;
  if (typeof value === 'string' && new RegExp(GUID).test(value)) return regex(GUID, value);
  if (typeof value === 'string' && new RegExp(DATAVERSE_DATE).test(value)) return regex(DATAVERSE_DATE, value);
  return like(value);
}

/** What the outbound flow reads of a context (the envelope fields it never looks at are left out of the pact). */
const READ_FIELDS = ['MessageName', 'PrimaryEntityName', 'PrimaryEntityId', 'CorrelationId', 'InputParameters', 'PreEntityImages', 'PostEntityImages'];
const contract = (context: Record<string, Json>): unknown =>
  shapeOf(Object.fromEntries(Object.entries(context).filter(([k, v]) => READ_FIELDS.includes(k) && !(Array.isArray(v) && v.length === 0))));
/** The Service Bus message metadata of a context, as the endpoint sets it for the Json format. */
const metadata = (context: Record<string, Json>): Record<string, string> => ({
  contentType: 'application/json',
  [ServiceEndpointProperty.RequestName]: String(context['MessageName']),
  [ServiceEndpointProperty.EntityLogicalName]: String(context['PrimaryEntityName']),
});

const T = 1_795_857_302_113;
const DEVICE_RECORD_ID = 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6';
let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});

/** The orchestrator's outbound flow on in-memory adapters, with the fixture's device in CRM and in the hub. */
async function orchestrator() {
  const clock = new ManualClock(T);
  const crm = new InMemoryCrm(new SequentialIds('rec'), { clock });
  const registry = new InMemoryDeviceRegistry(clock);
  const hub = new InMemoryCloudToDevice(registry, clock, { expiryCheckIntervalMs: 0 });
  cleanups.push(() => hub.close());
  const dispatch = new CommandDispatch({
    crm,
    cloudToDevice: hub,
    registry,
    catalog: deviceTypeCommandCatalog(BUILT_IN_DEVICE_TYPES),
    log: silentLog,
    defaultDeviceType: 'Thermostat',
  });
  const outbound = new OutboundMessages({
    crm,
    registry,
    dispatch,
    registrations: new DeviceRegistrations({ crm, registry, log: silentLog }),
    dataPull: new DeviceDataPull({ crm, registry, log: silentLog }),
    log: silentLog,
  });
  const queue = new InMemoryQueue('outbound', { clock });
  const received: string[] = [];
  await registry.registerDevices([{ deviceId: 'thermostat-1' }]);
  await crm.upsertDevice(aCrmDevice({ deviceRecordId: DEVICE_RECORD_ID, deviceId: 'thermostat-1' }));
  // The register fixture's second device: in CRM, not yet in the hub.
  await crm.upsertDevice(
    aCrmDevice({
      deviceRecordId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
      deviceId: 'thermostat-2',
      name: 'Server room thermostat',
      registrationStatus: RegistrationStatus.InProgress,
    }),
  );
  hub.attach('thermostat-1', async (m) => {
    received.push(new TextDecoder().decode(m.body));
    return 'complete';
  });
  const deliver = async (message: { contents: { content: unknown }; metadata?: Record<string, unknown> }): Promise<void> => {
    const { contentType, ...properties } = (message.metadata ?? {}) as Record<string, string>;
    await queue.send([
      {
        messageId: 'm1',
        body: new TextEncoder().encode(JSON.stringify(message.contents.content)),
        ...(contentType === undefined ? {} : { contentType }),
        properties,
      },
    ]);
    await new QueueProcessor(queue, (m) => outbound.handle(m), silentLog).drainOnce();
    await new Promise<void>((r) => setImmediate(r));
    expect((await queue.peekDeadLetters(10)).map((d) => `${d.reason}: ${d.description}`)).toEqual([]);
    expect(queue.activeCount).toBe(0);
  };
  return { crm, registry, received, deliver };
}

const pact = new PactV4({ consumer: 'fieldlink-orchestrator', provider: 'dataverse-service-endpoint', dir: PACTS, logLevel: 'error' });

describe('orchestrator ← CRM service endpoint (flows 13–15)', () => {
  beforeAll(() => rmSync(`${PACTS}fieldlink-orchestrator-dataverse-service-endpoint.json`, { force: true }));

  it('sends the command of a Create of msdyn_iotdevicecommand to its device and marks it Sent', async () => {
    const context = cfs('remote-execution-context.create-command.json');
    await pact
      .addAsynchronousInteraction()
      .given('an IoT device is in CRM', { deviceRecordId: DEVICE_RECORD_ID, deviceId: 'thermostat-1', name: 'Lobby thermostat' })
      .expectsToReceive('a Create of msdyn_iotdevicecommand', (b) => b.withJSONContent(contract(context)).withMetadata(metadata(context)))
      .executeTest(async (message) => {
        const o = await orchestrator();
        await o.deliver(message);
        expect(o.received).toEqual(['{"CommandName":"Reset Thermostat","Parameters":{}}']);
        const [command] = await o.crm.listCommands();
        expect(command).toMatchObject({ name: 'Reset Thermostat', state: 'sent', cfsStatus: CfsCommandStatus.Sent });
      });
  });

  it('registers the devices of an msdyn_RegisterIoTDevice action and writes Registered back', async () => {
    const context = cfs('remote-execution-context.register-devices.json');
    await pact
      .addAsynchronousInteraction()
      .given('IoT devices are in CRM', {
        devices: [
          {
            deviceRecordId: DEVICE_RECORD_ID,
            deviceId: 'thermostat-1',
            name: 'Lobby thermostat',
            tags: '{"site":"lobby"}',
            settings: '{"TargetTemperature":21}',
          },
          {
            deviceRecordId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
            deviceId: 'thermostat-2',
            name: 'Server room thermostat',
            tags: '{"site":"server-room"}',
            settings: '{"TargetTemperature":18}',
          },
        ],
      })
      .expectsToReceive('an msdyn_RegisterIoTDevice action', (b) => b.withJSONContent(contract(context)).withMetadata(metadata(context)))
      .executeTest(async (message) => {
        const o = await orchestrator();
        await o.deliver(message);
        expect(await o.registry.getTwin('thermostat-2')).toMatchObject({ deviceId: 'thermostat-2' });
        expect(await o.crm.getDevice('0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d')).toMatchObject({ registrationStatus: RegistrationStatus.Registered });
      });
  });

  it('puts the new msdyn_devicesettings of an Update of msdyn_iotdevice into the twin', async () => {
    const context = cfs('remote-execution-context.update-device.json');
    await pact
      .addAsynchronousInteraction()
      .given('an IoT device is in CRM', { deviceRecordId: DEVICE_RECORD_ID, deviceId: 'thermostat-1', name: 'Lobby thermostat' })
      .expectsToReceive('an Update of msdyn_iotdevice', (b) => b.withJSONContent(contract(context)).withMetadata(metadata(context)))
      .executeTest(async (message) => {
        const o = await orchestrator();
        await o.deliver(message);
        expect(await o.registry.getTwin('thermostat-1')).toMatchObject({ desired: { TargetTemperature: 19 } });
      });
  });

  it('reads the twins of an msdyn_PullDataForIoTDevice action into device data history', async () => {
    const context = cfs('remote-execution-context.pull-device-data.json');
    await pact
      .addAsynchronousInteraction()
      .given('an IoT device is in CRM', { deviceRecordId: DEVICE_RECORD_ID, deviceId: 'thermostat-1', name: 'Lobby thermostat' })
      .expectsToReceive('an msdyn_PullDataForIoTDevice action', (b) => b.withJSONContent(contract(context)).withMetadata(metadata(context)))
      .executeTest(async (message) => {
        const o = await orchestrator();
        await o.deliver(message);
        expect(await o.crm.listDeviceDataHistory('thermostat-1')).toHaveLength(1);
      });
  });
});
