import { fileURLToPath } from 'node:url';
import { DynamicsCrmGateway } from '@fieldlink/adapter-dynamics';
import { InMemoryQueue } from '@fieldlink/adapter-in-memory';
import { RegistrationStatus } from '@fieldlink/domain';
import { decodeRemoteExecutionContext, ServiceEndpointProperty, TOKENS, type LogFields, type LogPort, type QueueMessage } from '@fieldlink/ports';
import { waitFor } from '@fieldlink/ports/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load-config.js';
import type { AdapterFactories } from '../container/port-adapters.js';
import { createLocalStack, localRecordIds, type LocalStack } from './local-stack.js';

let stack: LocalStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** The outbound queue, keeping what was posted to it: here only the emulator's service endpoint posts. */
class RecordingQueue extends InMemoryQueue {
  readonly posted: QueueMessage[] = [];
  override async send(messages: readonly QueueMessage[]): Promise<void> {
    this.posted.push(...messages);
    await super.send(messages);
  }
}

/** Any token: the emulator takes any bearer token unless one is configured. */
const BEARER = { authorization: 'Bearer a-test-client' };

interface Logged {
  readonly event: string;
  readonly fields: LogFields;
}

const recordingLog = (into: Logged[]): LogPort => ({
  info: (event, fields = {}) => void into.push({ event, fields }),
  warn: (event, fields = {}) => void into.push({ event, fields }),
  error: (event, fields = {}) => void into.push({ event, fields }),
});

describe('the local stack with ports.crm dataverse and no URL: the Dataverse emulator in process', () => {
  for (const importExtension of [false, true]) {
    it(`closes the loop through the Dynamics adapter on ${importExtension ? 'an organisation with the Fieldlink extension solution' : 'a stock organisation'}: alert record in the emulator → Set Values created through the adapter → service endpoint → outbound queue → device → acknowledged`, async () => {
      // The demo policy `fieldlink up` turns on: the embedded emulator is no real organisation.
      const config = parseConfig({
        ports: { crm: 'dataverse' },
        dataverse: { importExtension },
        simulator: { devices: 3, drifting: 0, heartbeatIntervalMs: 0 },
        automation: { file: fileURLToPath(new URL('../../../../apps/cli/examples/automation.demo.yaml', import.meta.url)) },
      });
      if (!config.ok) throw new Error(JSON.stringify(config.error));
      expect(config.value.dataverse).toMatchObject({ embedded: true });
      const outbound = new RecordingQueue('outbound');
      const factories: AdapterFactories = { outboundQueue: { 'in-memory': async () => ({ port: outbound, close: () => outbound.close() }) } };
      const logged: Logged[] = [];
      const created = await createLocalStack(config.value, { manualFleet: true, factories: [factories], log: recordingLog(logged) });
      if (!created.ok) throw new Error(JSON.stringify(created.error));
      stack = created.value;
      await stack.start();

      const crm = stack.get(TOKENS.CrmGateway);
      expect(crm).toBeInstanceOf(DynamicsCrmGateway);
      const started = logged.find((l) => l.event === 'dataverse.emulator-started');
      expect(started?.fields).toMatchObject({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
      const webApiUrl = String(started!.fields['webApiUrl']);

      // The fleet was registered as CFS registers: the msdyn_RegisterIoTDevice action, posted by the service endpoint, handled by the outbound flow.
      const registrations = outbound.posted.filter((m) => m.properties?.[ServiceEndpointProperty.RequestName] === 'msdyn_RegisterIoTDevice');
      expect(registrations).toHaveLength(1);
      const ids = localRecordIds(config.value);
      expect((await crm.listDevices()).map((d) => [d.deviceId, d.deviceRecordId, d.registrationStatus]).sort()).toEqual(
        ['thermostat-1', 'thermostat-2', 'thermostat-3'].map((id) => [id, ids.deviceRecordId(id), RegistrationStatus.Registered]),
      );

      stack.fleet.nudge('thermostat-2', 20);
      await stack.fleet.tick();
      const alert = await waitFor('the CRM alert', async () => (await crm.listIoTAlerts({ deviceId: 'thermostat-2' }))[0]);
      expect(alert).toMatchObject({
        deviceId: 'thermostat-2',
        customerAssetId: ids.customerAssetId('thermostat-2'),
        description: expect.stringMatching(/^Temperature reading of 8\d(\.\d)? exceeded a threshold of 70$/),
      });
      // The record is in the emulator's store, read over its Web API without the adapter.
      const stored = (await (
        await fetch(`${webApiUrl}msdyn_iotalerts?$filter=msdyn_deviceid eq 'thermostat-2'&$select=msdyn_alerttoken,msdyn_description`, { headers: BEARER })
      ).json()) as { value: Array<Record<string, unknown>> };
      expect(stored.value.map((r) => r['msdyn_iotalertid'])).toContain(alert.alertId);

      const command = await waitFor('the Set Values command', async () => (await crm.listCommands({ deviceId: 'thermostat-2' }))[0]);
      expect(command).toMatchObject({ name: 'Set Values', parentAlertId: alert.alertId });
      const received = await waitFor('the device to receive it', () => stack!.fleet.get('thermostat-2')?.lastCommand);
      expect(received).toMatchObject({ name: 'Set Values', outcome: 'completed', messageId: command.commandId, correlationId: alert.alertId });
      for (let i = 0; i < 3; i++) await stack.fleet.tick(1_000);
      const done = await waitFor('the acknowledgement, read back through the adapter', async () => {
        const c = await crm.getCommand(command.commandId);
        return c?.state === 'acknowledged' ? c : undefined;
      });
      expect(done).toMatchObject({ commandId: command.commandId, cfsStatus: 192350001 });
      // On the organisation's own columns: the stock ones always, the extension's only where it was imported.
      const row = (await (await fetch(`${webApiUrl}msdyn_iotdevicecommands(${command.commandId})`, { headers: BEARER })).json()) as Record<string, unknown>;
      expect(row).toMatchObject({ msdyn_commandstatus: 192350001, msdyn_commandstatusreason: expect.stringMatching(/^\[Fieldlink: acknowledged\]/) });
      expect(row['fl_commandstate']).toBe(importExtension ? 'acknowledged' : undefined);

      // The command left through the outbound queue, once: the service endpoint's Create, and no direct dispatch beside it.
      const creates = outbound.posted.filter((m) => m.properties?.[ServiceEndpointProperty.RequestName] === 'Create');
      expect(creates).toHaveLength(1);
      const context = decodeRemoteExecutionContext(creates[0]!.body);
      expect(context).toMatchObject({ ok: true, value: { primaryEntityName: 'msdyn_iotdevicecommand', primaryEntityId: command.commandId } });
      const sent = logged.filter((l) => l.event === 'command.sent' && l.fields['commandId'] === command.commandId);
      expect(sent).toHaveLength(1);
      // Under the alert's id, as in the in-memory CRM mode, not the CRM's id of the Create request.
      expect(sent[0]!.fields.correlationId).toBe(alert.alertId);
      expect(await outbound.peekDeadLetters(10)).toEqual([]);
      expect(await crm.listCommands()).toHaveLength(1);
    }, 30_000);
  }

  it('requires the configured bearer token, which the adapter sends; a request without it is refused', async () => {
    const config = parseConfig({
      ports: { crm: 'dataverse' },
      dataverse: { emulatorAccessToken: 'token-of-this-run' },
      simulator: { devices: 1, drifting: 0, heartbeatIntervalMs: 0 },
    });
    if (!config.ok) throw new Error(JSON.stringify(config.error));
    const logged: Logged[] = [];
    const created = await createLocalStack(config.value, { manualFleet: true, log: recordingLog(logged) });
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    stack = created.value;
    await stack.start();
    // The fleet registered through the adapter, so the adapter's token was taken.
    expect((await stack.get(TOKENS.CrmGateway).listDevices()).map((d) => d.registrationStatus)).toEqual([RegistrationStatus.Registered]);
    const url = String(logged.find((l) => l.event === 'dataverse.emulator-started')?.fields['webApiUrl']);
    expect((await fetch(`${url}msdyn_iotdevices`)).status).toBe(401);
    expect((await fetch(`${url}msdyn_iotdevices`, { headers: BEARER })).status).toBe(401);
    expect((await fetch(`${url}msdyn_iotdevices`, { headers: { authorization: 'Bearer token-of-this-run' } })).status).toBe(200);
  });

  it('stops the emulator with the stack', async () => {
    const config = parseConfig({ ports: { crm: 'dataverse' }, simulator: { devices: 1, drifting: 0, heartbeatIntervalMs: 0 } });
    if (!config.ok) throw new Error(JSON.stringify(config.error));
    const logged: Logged[] = [];
    const created = await createLocalStack(config.value, { manualFleet: true, log: recordingLog(logged) });
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    await created.value.start();
    const url = String(logged.find((l) => l.event === 'dataverse.emulator-started')?.fields['webApiUrl']);
    expect((await fetch(`${url}msdyn_iotdevices`)).status).toBe(401);
    expect((await fetch(`${url}msdyn_iotdevices`, { headers: BEARER })).status).toBe(200);
    await created.value.stop();
    await expect(fetch(`${url}msdyn_iotdevices`, { headers: BEARER })).rejects.toThrow();
  });
});
