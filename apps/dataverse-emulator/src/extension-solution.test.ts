import { fileURLToPath } from 'node:url';
import { DynamicsCrmGateway, FIELDLINK_EXTENSION_SOLUTION_ZIP } from '@fieldlink/adapter-dynamics';
import { emulatorCredential, startDataverseEmulator, type RunningDataverseEmulator } from '@fieldlink/dataverse-emulator';
import { CfsCommandStatus } from '@fieldlink/domain';
import { afterEach, describe, expect, it } from 'vitest';

/** Any token: the emulator requires one, as Dataverse does. */
const AUTH = { Authorization: 'Bearer a-test-client' };

let emulator: RunningDataverseEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const attributes = async (url: string) =>
  (await (
    await fetch(
      `${url}EntityDefinitions(LogicalName='msdyn_iotdevicecommand')/Attributes?$select=LogicalName&$filter=${encodeURIComponent("LogicalName eq 'fl_commandstate'")}`,
      { headers: AUTH },
    )
  ).json()) as { value: Array<Record<string, unknown>> };

describe('the Fieldlink extension solution, imported into the emulated organisation', () => {
  it('is absent from a stock organisation: the column is refused and EntityDefinitions does not list it', async () => {
    emulator = await startDataverseEmulator();
    const refused = await fetch(`${emulator.webApiUrl}msdyn_iotdevicecommands`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...AUTH },
      body: JSON.stringify({ msdyn_name: 'Reset', fl_commandstate: 'sent' }),
    });
    expect(refused.status).toBe(400);
    expect((await attributes(emulator.webApiUrl)).value).toEqual([]);
  });

  it('adds its column when imported, and the adapter finds it with one read of EntityDefinitions and keeps the state in it too', async () => {
    emulator = await startDataverseEmulator({ solutions: [fileURLToPath(FIELDLINK_EXTENSION_SOLUTION_ZIP)] });
    expect((await attributes(emulator.webApiUrl)).value).toEqual([
      expect.objectContaining({ LogicalName: 'fl_commandstate', AttributeType: 'String', IsCustomAttribute: true }),
    ]);
    const crm = new DynamicsCrmGateway({ organizationUrl: emulator.url, credential: emulatorCredential() });
    expect(await crm.hasExtension()).toBe(true);
    const { commandId } = await crm.createCommand({
      commandId: 'c0ffee00-0000-4000-8000-0000000000e1',
      name: 'Reset Thermostat',
      message: '{"CommandName":"Reset Thermostat","Parameters":{}}',
      deviceId: 'thermostat-1',
    });
    await crm.updateCommandStatus(commandId, { state: 'delivered', cfsStatus: CfsCommandStatus.Sent, statusReason: 'Delivered to the device' });
    const row = (await (
      await fetch(`${emulator.webApiUrl}msdyn_iotdevicecommands(${commandId})?$select=fl_commandstate,msdyn_commandstatusreason`, { headers: AUTH })
    ).json()) as Record<string, unknown>;
    expect(row).toMatchObject({ fl_commandstate: 'delivered', msdyn_commandstatusreason: '[Fieldlink: delivered] Delivered to the device' });
    // A reason edited by hand in the CRM does not move the state the extension column holds.
    await fetch(`${emulator.webApiUrl}msdyn_iotdevicecommands(${commandId})`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', ...AUTH },
      body: JSON.stringify({ msdyn_commandstatusreason: 'checked by Alex' }),
    });
    expect(await crm.getCommand(commandId)).toMatchObject({ state: 'delivered', statusReason: 'checked by Alex' });
  });

  it('is never asked for when the adapter is told to keep to stock columns', async () => {
    emulator = await startDataverseEmulator({ solutions: [fileURLToPath(FIELDLINK_EXTENSION_SOLUTION_ZIP)] });
    const crm = new DynamicsCrmGateway({ organizationUrl: emulator.url, credential: emulatorCredential(), extension: 'never' });
    expect(await crm.hasExtension()).toBe(false);
    expect(emulator.stats().arrivals.filter((a) => a.path.includes('EntityDefinitions'))).toEqual([]);
  });
});
