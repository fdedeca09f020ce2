import { TOKENS } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config.js';
import { createLocalStack } from '../runtime/local-stack.js';
import { createStreamProcessor } from '../runtime/create-runtimes.js';

const serviceBus = 'Endpoint=sb://127.0.0.1:9/;SharedAccessKeyName=k;SharedAccessKey=not-a-real-key;UseDevelopmentEmulator=true';

describe('the Azure adapters in the composition', () => {
  it('binds the alerts queue token to a Service Bus queue when ports.alertsQueue is service-bus', async () => {
    const config = loadConfig({ env: { FIELDLINK_PORTS_ALERTS_QUEUE: 'service-bus', FIELDLINK_SERVICE_BUS_CONNECTION_STRING: serviceBus, FIELDLINK_SERVICE_BUS_ALERTS_QUEUE: 'contoso-iot' } });
    if (!config.ok) throw new Error(JSON.stringify(config.error));
    const processor = await createStreamProcessor(config.value);
    if (!processor.ok) throw new Error(JSON.stringify(processor.error));
    const { ServiceBusQueue } = await import('@fieldlink/adapter-azure');
    const queue = processor.value.get<InstanceType<typeof ServiceBusQueue>>(TOKENS.AlertsQueue);
    expect(queue).toBeInstanceOf(ServiceBusQueue);
    expect(queue.name).toBe('contoso-iot');
    await processor.value.stop();
  });

  it('refuses, naming the port, simulated devices on IoT Hub, which have no factory yet', async () => {
    const config = loadConfig({ env: { FIELDLINK_PORTS_DEVICE_CLIENT: 'iot-hub', FIELDLINK_IOT_HUB_CONNECTION_STRING: 'HostName=127.0.0.1;SharedAccessKeyName=k;SharedAccessKey=not-a-real-key' } });
    if (!config.ok) throw new Error(JSON.stringify(config.error));
    expect(await createLocalStack(config.value)).toEqual({ ok: false, error: [{ path: 'ports.deviceClient', message: 'the "iot-hub" adapter is not available in this build' }] });
  });
});
