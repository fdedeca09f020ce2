import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeRemoteExecutionContext, encodeRemoteExecutionContext, toRemoteExecutionContextJson } from './remote-execution-context.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../../fixtures/cfs/remote-execution-context.${name}.json`, import.meta.url), 'utf8');

describe('RemoteExecutionContext', () => {
  it('reads the Create of a command: entity, references, option sets and dates as typed values', () => {
    const result = decodeRemoteExecutionContext(fixture('create-command'));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const ctx = result.value;
    expect(ctx).toMatchObject({
      messageName: 'Create',
      primaryEntityName: 'msdyn_iotdevicecommand',
      primaryEntityId: 'c0ffee00-1234-4abc-8def-0123456789ab',
      operationCreatedOn: 1795857302200,
      depth: 1,
      stage: 40,
      organizationName: 'contoso',
    });
    expect(ctx.inputParameters['Target']).toMatchObject({
      kind: 'Entity',
      logicalName: 'msdyn_iotdevicecommand',
      id: 'c0ffee00-1234-4abc-8def-0123456789ab',
      attributes: {
        msdyn_name: 'Reset Thermostat',
        msdyn_deviceid: 'thermostat-1',
        msdyn_device: { kind: 'EntityReference', logicalName: 'msdyn_iotdevice', id: 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6', name: null },
        msdyn_commandstatus: { kind: 'OptionSetValue', value: 192350000 },
        createdon: { kind: 'DateTime', epochMs: 1795857302113 },
      },
    });
    expect(ctx.outputParameters).toEqual({ id: 'c0ffee00-1234-4abc-8def-0123456789ab' });
    expect(ctx.owningExtension).toMatchObject({ logicalName: 'sdkmessageprocessingstep', name: 'IoT Message: Create of msdyn_iotdevicecommand' });
  });

  it.each(['create-command', 'register-devices'])('writes the %s fixture back to the same JSON', (name) => {
    const text = fixture(name);
    const result = decodeRemoteExecutionContext(text);
    if (!result.ok) throw new Error(JSON.stringify(result.error));
    expect(toRemoteExecutionContextJson(result.value)).toEqual(JSON.parse(text));
    expect(decodeRemoteExecutionContext(encodeRemoteExecutionContext(result.value))).toEqual(result);
  });

  it('reads a date with an offset suffix and carries an unknown typed value along', () => {
    const result = decodeRemoteExecutionContext({
      MessageName: 'Update',
      PrimaryEntityName: 'msdyn_iotdevice',
      PrimaryEntityId: 'd1',
      OperationCreatedOn: '/Date(1795857302200+0000)/',
      InputParameters: [{ key: 'Odd', value: { __type: 'BooleanManagedProperty:http://schemas.microsoft.com/xrm/2011/Contracts', Value: true } }],
    });
    expect(result).toMatchObject({
      ok: true,
      value: {
        operationCreatedOn: 1795857302200,
        inputParameters: { Odd: { kind: 'Unknown', type: 'BooleanManagedProperty:http://schemas.microsoft.com/xrm/2011/Contracts' } },
      },
    });
  });

  it('names what is wrong, and never throws', () => {
    const result = decodeRemoteExecutionContext({
      PrimaryEntityName: 7,
      InputParameters: [{ key: 'Target', value: { __type: 'Entity:x', Attributes: 'no' } }, { value: 1 }],
      OperationCreatedOn: 'yesterday',
    });
    expect(!result.ok && result.error.map((i) => i.path)).toEqual([
      'MessageName',
      'PrimaryEntityName',
      'InputParameters.Target.LogicalName',
      'InputParameters.Target.Attributes',
      'InputParameters.1',
      'OperationCreatedOn',
    ]);
    expect(decodeRemoteExecutionContext('[1]')).toMatchObject({ ok: false, error: [{ path: '(root)' }] });
    expect(decodeRemoteExecutionContext('<xml/>')).toMatchObject({ ok: false, error: [{ path: 'body' }] });
  });
});
