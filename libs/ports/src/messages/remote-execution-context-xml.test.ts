import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readOutboundCrmMessage } from './outbound-crm-message.js';
import { decodeRemoteExecutionContext } from './remote-execution-context.js';
import {
  decodeRemoteExecutionContextXml,
  encodeRemoteExecutionContextBinaryXml,
  encodeRemoteExecutionContextXml,
  formatXmlDateTime,
  writeNbfx,
} from './remote-execution-context-xml.js';

const fixture = (name: string, ext: 'json' | 'xml'): string =>
  readFileSync(new URL(`../../../../fixtures/cfs/remote-execution-context.${name}.${ext}`, import.meta.url), 'utf8');
const KINDS = [
  ['create-command', 'command-created'],
  ['register-devices', 'register-devices'],
  ['update-device', 'device-updated'],
  ['pull-device-data', 'pull-device-data'],
] as const;

describe('RemoteExecutionContext in Text XML (DataContractSerializer)', () => {
  it.each(KINDS)('reads the %s fixture in XML to the same context as its JSON form', (name, kind) => {
    const fromXml = decodeRemoteExecutionContextXml(fixture(name, 'xml'));
    const fromJson = decodeRemoteExecutionContext(fixture(name, 'json'));
    expect(fromXml.ok, JSON.stringify(fromXml)).toBe(true);
    expect(fromJson.ok).toBe(true);
    if (!fromXml.ok || !fromJson.ok) return;
    expect(fromXml.value).toEqual(fromJson.value);
    expect(readOutboundCrmMessage(fromXml.value)).toMatchObject({ ok: true, value: { kind } });
  });

  it('reads typed values: string, guid, dateTime, OptionSetValue, EntityReference, and a pre-image Entity', () => {
    const create = decodeRemoteExecutionContextXml(fixture('create-command', 'xml'));
    expect(create.ok && create.value.inputParameters['Target']).toMatchObject({
      kind: 'Entity',
      attributes: {
        msdyn_iotdevicecommandid: 'c0ffee00-1234-4abc-8def-0123456789ab',
        msdyn_commandstatus: { kind: 'OptionSetValue', value: 192350000 },
        msdyn_device: { kind: 'EntityReference', logicalName: 'msdyn_iotdevice', id: 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6' },
        createdon: { kind: 'DateTime', epochMs: Date.parse('2026-11-28T09:15:02.113Z') },
      },
    });
    const update = decodeRemoteExecutionContextXml(fixture('update-device', 'xml'));
    expect(update.ok && update.value.preEntityImages['PreImage']?.attributes['msdyn_deviceid']).toBe('thermostat-1');
  });

  it('writes what it reads: every fixture survives encode → decode unchanged', () => {
    for (const [name] of KINDS) {
      const json = decodeRemoteExecutionContext(fixture(name, 'json'));
      if (!json.ok) throw new Error(name);
      expect(decodeRemoteExecutionContextXml(encodeRemoteExecutionContextXml(json.value))).toEqual({ ok: true, value: json.value });
    }
  });

  it('writes text with markup characters escaped, and the members in DataContract (alphabetical) order', () => {
    const json = decodeRemoteExecutionContext(fixture('create-command', 'json'));
    if (!json.ok) throw new Error('fixture');
    const text = new TextDecoder().decode(encodeRemoteExecutionContextXml({ ...json.value, organizationName: 'a<b>&"c"' }));
    expect(text).toContain('<OrganizationName>a&lt;b&gt;&amp;"c"</OrganizationName>');
    expect(
      text.startsWith('<RemoteExecutionContext xmlns="http://schemas.microsoft.com/xrm/2011/Contracts" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'),
    ).toBe(true);
    const members = [...text.matchAll(/<\/(BusinessUnitId|CorrelationId|InputParameters|MessageName|PrimaryEntityId|UserId)>/g)].map((m) => m[1]);
    expect(members).toEqual(['BusinessUnitId', 'CorrelationId', 'InputParameters', 'MessageName', 'PrimaryEntityId', 'UserId']);
  });

  it('formats xs:dateTime as DataContractSerializer does for UTC (trailing fraction zeros dropped)', () => {
    expect(formatXmlDateTime(Date.parse('2026-11-28T09:15:02.200Z'))).toBe('2026-11-28T09:15:02.2Z');
    expect(formatXmlDateTime(Date.parse('2026-11-28T09:15:02.000Z'))).toBe('2026-11-28T09:15:02Z');
    expect(formatXmlDateTime(Date.parse('2026-11-28T09:15:02.113Z'))).toBe('2026-11-28T09:15:02.113Z');
  });

  it('refuses what is not a RemoteExecutionContext with an issue naming it', () => {
    expect(decodeRemoteExecutionContextXml('<Other/>')).toMatchObject({
      ok: false,
      error: [{ path: 'body', message: 'expected a RemoteExecutionContext element' }],
    });
    expect(decodeRemoteExecutionContextXml('<RemoteExecutionContext><Depth>deep</Depth></RemoteExecutionContext>')).toMatchObject({
      ok: false,
      error: [{ path: 'Depth' }],
    });
    expect(decodeRemoteExecutionContextXml('<!DOCTYPE x [<!ENTITY a "b">]><RemoteExecutionContext/>')).toMatchObject({ ok: false, error: [{ path: 'body' }] });
    expect(decodeRemoteExecutionContextXml(new Uint8Array([0xff, 0xfe, 0x3c]))).toMatchObject({
      ok: false,
      error: [{ path: 'body', message: 'is not valid UTF-8' }],
    });
    const noName = decodeRemoteExecutionContextXml(
      '<RemoteExecutionContext xmlns="http://schemas.microsoft.com/xrm/2011/Contracts"><PrimaryEntityName>x</PrimaryEntityName></RemoteExecutionContext>',
    );
    expect(noName).toMatchObject({ ok: false, error: [{ path: 'MessageName', message: 'expected a string' }] });
  });
});

describe('.NET Binary XML (MC-NBFX) writer', () => {
  it('writes the records of MC-NBFX: ShortElement, text with end, prefixed element and attribute, xmlns', () => {
    // <doc>hello</doc>: ShortElement 0x40 "doc", Chars8TextWithEndElement 0x99 "hello".
    expect([...writeNbfx({ name: 'doc', attributes: [], children: [], text: 'hello' })]).toEqual([
      0x40, 3, 0x64, 0x6f, 0x63, 0x99, 5, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
    ]);
    // <a:v i:nil="true" xmlns:a="u"/>: PrefixElement_a 0x5E, PrefixAttribute_i 0x2E + Chars8Text 0x98, XmlnsAttribute 0x09, EndElement 0x01.
    const bytes = writeNbfx({
      name: 'a:v',
      attributes: [
        ['i:nil', 'true'],
        ['xmlns:a', 'u'],
      ],
      children: [],
    });
    expect([...bytes]).toEqual([0x5e, 1, 0x76, 0x2e, 3, 0x6e, 0x69, 0x6c, 0x98, 4, 0x74, 0x72, 0x75, 0x65, 0x09, 1, 0x61, 1, 0x75, 0x01]);
    // Default namespace: ShortXmlnsAttribute 0x08; a child ShortElement, then EndElement of the parent.
    expect([...writeNbfx({ name: 'r', attributes: [['xmlns', 'n']], children: [{ name: 'c', attributes: [], children: [] }] })]).toEqual([
      0x40, 1, 0x72, 0x08, 1, 0x6e, 0x40, 1, 0x63, 0x01, 0x01,
    ]);
  });

  it('writes lengths as MultiByteInt31 and long text as Chars16Text', () => {
    const name = 'n'.repeat(200);
    const text = 'x'.repeat(300);
    const bytes = writeNbfx({ name, attributes: [], children: [], text });
    expect([...bytes.slice(0, 3)]).toEqual([0x40, 0xc8, 0x01]); // 200 = 0x48 | 0x80, then 1
    expect([...bytes.slice(3 + 200, 3 + 200 + 3)]).toEqual([0x9b, 300 & 0xff, 300 >> 8]);
  });

  it('encodes a whole context, starting with the RemoteExecutionContext element and its default namespace', () => {
    const json = decodeRemoteExecutionContext(fixture('create-command', 'json'));
    if (!json.ok) throw new Error('fixture');
    const bytes = encodeRemoteExecutionContextBinaryXml(json.value);
    expect(bytes[0]).toBe(0x40);
    expect(new TextDecoder().decode(bytes.slice(2, 2 + 22))).toBe('RemoteExecutionContext');
    expect(bytes[2 + 22]).toBe(0x08);
    expect(bytes[bytes.length - 1]).toBe(0x01);
  });
});
