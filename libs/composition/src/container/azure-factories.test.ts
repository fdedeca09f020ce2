import { TOKENS } from '@fieldlink/ports';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../config/load-config.js';
import { assemble } from '../runtime/fieldlink-runtime.js';
import { iotHubHostName } from './azure-factories.js';
import { resolveToken } from './typed-bindings.js';
import { createStreamProcessor } from '../runtime/create-runtimes.js';

const iotHub = 'HostName=contoso-iothub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=bm90LWEtcmVhbC1rZXk=';
const storage = 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=bm90LWEtcmVhbC1rZXk=;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;';
const serviceBus = 'Endpoint=sb://127.0.0.1:9/;SharedAccessKeyName=k;SharedAccessKey=not-a-real-key;UseDevelopmentEmulator=true';

describe('the Azure adapters in the composition', () => {
  it('binds the alerts queue token to a Service Bus queue when ports.alertsQueue is service-bus', async () => {
    const config = loadConfig({
      env: {
        FIELDLINK_PORTS_ALERTS_QUEUE: 'service-bus',
        FIELDLINK_SERVICE_BUS_CONNECTION_STRING: serviceBus,
        FIELDLINK_SERVICE_BUS_ALERTS_QUEUE: 'contoso-iot',
      },
    });
    if (!config.ok) throw new Error(JSON.stringify(config.error));
    const processor = await createStreamProcessor(config.value);
    if (!processor.ok) throw new Error(JSON.stringify(processor.error));
    onTestFinished(() => processor.value.stop());
    const { ServiceBusQueue } = await import('@fieldlink/adapter-azure');
    const queue = processor.value.get(TOKENS.AlertsQueue);
    expect(queue).toBeInstanceOf(ServiceBusQueue);
    expect(queue.name).toBe('contoso-iot');
  });

  it('binds the device client token to IotHubDeviceClient and rule state to BlobRuleStateStore on the azure profile', async () => {
    const config = loadConfig({
      env: {
        FIELDLINK_PORTS_DEVICE_CLIENT: 'iot-hub',
        FIELDLINK_PORTS_RULE_STATE_STORE: 'blob',
        FIELDLINK_IOT_HUB_CONNECTION_STRING: iotHub,
        FIELDLINK_IOT_HUB_DEVICE_TRANSPORT: 'amqp',
        FIELDLINK_BLOB_CONNECTION_STRING: storage,
      },
    });
    if (!config.ok) throw new Error(JSON.stringify(config.error));
    expect(config.value.iotHub.deviceTransport).toBe('amqp');
    const assembled = await assemble(config.value, ['deviceRegistry', 'deviceClient', 'ruleStateStore'], {});
    if (!assembled.ok) throw new Error(JSON.stringify(assembled.error));
    onTestFinished(() => assembled.value.adapters.close());
    const { IotHubDeviceClient, BlobRuleStateStore } = await import('@fieldlink/adapter-azure');
    expect(resolveToken(assembled.value.container, TOKENS.DeviceClient)).toBeInstanceOf(IotHubDeviceClient);
    const store = resolveToken(assembled.value.container, TOKENS.RuleStateStore);
    if (!(store instanceof BlobRuleStateStore)) throw new Error(`the rule state store is not a BlobRuleStateStore: ${String(store)}`);
    expect(store.blobNameOf('ingest/0')).toBe('rule-state/ingest/0.json');
  });

  it('names the missing settings of devices and rule state on Azure', () => {
    const config = loadConfig({ env: { FIELDLINK_PORTS_DEVICE_CLIENT: 'iot-hub', FIELDLINK_PORTS_RULE_STATE_STORE: 'blob' } });
    expect(config.ok).toBe(false);
    const paths = config.ok ? [] : config.error.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['iotHub.connectionString', 'blob.connectionString']));
    expect(loadConfig({ env: { FIELDLINK_IOT_HUB_DEVICE_TRANSPORT: 'http' } })).toMatchObject({
      ok: false,
      error: [{ path: 'iotHub.deviceTransport', message: expect.stringContaining('expected "mqtt" or "amqp"') }],
    });
  });

  it('takes the hub host name from iotHub.hostName, else from the service connection string', () => {
    const base = loadConfig({ env: { FIELDLINK_IOT_HUB_CONNECTION_STRING: iotHub } });
    if (!base.ok) throw new Error(JSON.stringify(base.error));
    expect(iotHubHostName(base.value)).toBe('contoso-iothub.azure-devices.net');
    expect(iotHubHostName({ ...base.value, iotHub: { ...base.value.iotHub, hostName: '127.0.0.1:8883' } })).toBe('127.0.0.1:8883');
  });
});
