// A dropped IoT hub connection under a thermostat on MQTT (azure-iot-device, as the simulator
// connects): a cloud-to-device message sent while the device is away, and one sent after it has
// connected again, must both reach the device, not a subscription of its dropped connection.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { hostPortAgent, IotHubStandin, trustedLoopbackCertificate } from '@fieldlink/azure-standins';
import { IotHubCloudToDevice, IotHubDeviceClient, IotHubRegistry } from '@fieldlink/adapter-azure';
import type { DeliveryFeedback } from '@fieldlink/ports';
import { eventually, uniqueDeviceId, utf8 } from '@fieldlink/ports/testing';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe('IoT hub stand-in: a dropped connection under a device on MQTT', () => {
  it('a cloud-to-device message sent while the device is away, and one sent after it reconnected, are both delivered to it and acknowledged', async () => {
    const certificate = await trustedLoopbackCertificate();
    const hub = await new IotHubStandin(certificate).start();
    cleanup.push(() => hub.stop());
    const registry = new IotHubRegistry({ auth: { connectionString: hub.serviceConnectionString }, httpsAgent: hostPortAgent(certificate.cert) });
    const deviceId = uniqueDeviceId('mqtt-thermostat');
    await registry.registerDevices([{ deviceId }]);

    const cloudToDevice = new IotHubCloudToDevice({ auth: { connectionString: hub.serviceConnectionString } });
    cleanup.push(() => cloudToDevice.close());
    const feedback: DeliveryFeedback[] = [];
    const subscription = await cloudToDevice.subscribeFeedback(async (batch) => void feedback.push(...batch));
    cleanup.push(() => subscription.close());

    const connection = await new IotHubDeviceClient({
      connectionStringFor: (id) => hub.deviceConnectionString(id),
      transport: 'mqtt',
      ca: certificate.cert,
    }).connect(deviceId);
    cleanup.push(() => connection.close());
    // At least once: a message whose PUBACK the drop cut off comes again (MQTT QoS 1).
    const seen: string[] = [];
    const distinct = () => [...new Set(seen)];
    connection.onCloudToDeviceMessage(async (m) => {
      seen.push(new TextDecoder().decode(m.body));
      return 'complete';
    });
    const send = async (text: string) => {
      const message = { messageId: randomUUID(), deviceId, body: utf8(text) };
      // The service client connects again on its own after the drop; a send refused meanwhile is tried again.
      await eventually(async () => expect((await cloudToDevice.send(message)).ok).toBe(true), 30_000, 200);
      return message.messageId;
    };

    const before = await send('before');
    await eventually(() => expect(seen).toEqual(['before']), 15_000);

    expect(hub.dropConnections()).toBeGreaterThanOrEqual(2);
    const away = await send('while-away');
    await eventually(() => expect(distinct()).toEqual(['before', 'while-away']), 60_000, 100);
    await eventually(() => expect(hub.devices.get(deviceId)?.connectionState).toBe('Connected'), 30_000);
    const after = await send('after');
    await eventually(() => expect(distinct()).toEqual(['before', 'while-away', 'after']), 60_000, 100);

    await eventually(() => {
      for (const id of [before, away, after]) expect(feedback.find((f) => f.originalMessageId === id)?.status).toBe('Success');
    }, 30_000);
    expect(hub.queues.pending(deviceId)).toBe(0);
  }, 180_000);
});
