import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readOutboundCrmMessage } from './outbound-crm-message.js';
import { decodeRemoteExecutionContext } from './remote-execution-context.js';
import { decodeRemoteExecutionContextXml, writeXml, type XmlElement } from './remote-execution-context-xml.js';
import { decodeServiceEndpointMessage } from './service-endpoint-message.js';

/*
 * Fuzzing the readers of a service endpoint message: whatever arrives (random bytes, random JSON,
 * random XML built from the element and type names of a real context), each reader answers a
 * value or a typed error, never throws, and returns.
 */

const isIssueList = (e: unknown): boolean =>
  Array.isArray(e) &&
  e.length > 0 &&
  e.every(
    (i) => typeof i === 'object' && i !== null && typeof (i as { path: unknown }).path === 'string' && typeof (i as { message: unknown }).message === 'string',
  );
const CODES = ['BinaryXmlNotSupported', 'UnsupportedContentType', 'InvalidRemoteExecutionContext'];

/** A reader's answer: ok, or an error list of issues; then, when ok, routing it answers likewise. */
function expectIssuesOrContext(r: ReturnType<typeof decodeRemoteExecutionContext>): void {
  if (!r.ok) {
    expect(isIssueList(r.error)).toBe(true);
    return;
  }
  const routed = readOutboundCrmMessage(r.value);
  if (!routed.ok) expect(isIssueList(routed.error)).toBe(true);
}

const NAMES = [
  'RemoteExecutionContext',
  'MessageName',
  'PrimaryEntityName',
  'PrimaryEntityId',
  'InputParameters',
  'PreEntityImages',
  'PostEntityImages',
  'KeyValuePairOfstringanyType',
  'KeyValuePairOfstringEntity',
  'KeyValuePairOfstringstring',
  'a:key',
  'a:value',
  'Attributes',
  'Id',
  'LogicalName',
  'Value',
  'Entities',
  'Entity',
  'Depth',
  'OperationCreatedOn',
  'OwningExtension',
  'IsInTransaction',
];
const TYPES = [
  'b:string',
  'b:int',
  'b:boolean',
  'b:dateTime',
  'b:guid',
  'b:double',
  'Entity',
  'EntityReference',
  'OptionSetValue',
  'Money',
  'EntityCollection',
  'x:Other',
];
const TEXTS = fc.oneof(
  fc.string(),
  fc.constantFrom(
    'Create',
    'Update',
    'msdyn_iotdevicecommand',
    'msdyn_RegisterIoTDevice',
    'Target',
    '1',
    'true',
    'nope',
    '2026-11-28T09:15:02Z',
    '00000000-0000-0000-0000-000000000000',
    '&amp;',
    '',
  ),
);

const xmlTree: fc.Arbitrary<XmlElement> = fc
  .letrec<{ node: XmlElement }>((tie) => ({
    node: fc.record(
      {
        name: fc.constantFrom(...NAMES),
        attributes: fc.array(
          fc.oneof(
            fc.tuple(fc.constant('i:type'), fc.constantFrom(...TYPES)),
            fc.tuple(fc.constant('i:nil'), fc.constantFrom('true', 'false')),
            fc.tuple(fc.constant('xmlns:a'), fc.constant('http://schemas.datacontract.org/2004/07/System.Collections.Generic')),
          ),
          { maxLength: 2 },
        ),
        children: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constant([]), fc.array(tie('node'), { maxLength: 4 })),
        text: TEXTS,
      },
      { requiredKeys: ['name', 'attributes', 'children'] },
    ),
  }))
  .node.map(({ text, ...n }): XmlElement => (text === undefined || n.children.length > 0 ? n : { ...n, text }));
const rootedXml = xmlTree.map((n) =>
  writeXml({ name: 'RemoteExecutionContext', attributes: [['xmlns:i', 'http://www.w3.org/2001/XMLSchema-instance']], children: [n, ...n.children] }),
);

describe('service endpoint message readers (fuzz)', () => {
  it('the JSON reader answers random bytes with a context or issues, never a throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => expectIssuesOrContext(decodeRemoteExecutionContext(bytes))));
  });

  it('the JSON reader answers random JSON with a context or issues, never a throw', () => {
    const contextLike = fc.record({
      MessageName: fc.oneof(fc.constantFrom('Create', 'Update', 'msdyn_RegisterIoTDevice', 'msdyn_PullDataForIoTDevice'), fc.jsonValue()),
      PrimaryEntityName: fc.oneof(fc.constantFrom('msdyn_iotdevicecommand', 'msdyn_iotdevice', 'none'), fc.jsonValue()),
      InputParameters: fc.oneof(
        fc.jsonValue(),
        fc.array(fc.record({ key: fc.oneof(fc.constantFrom('Target', 'DeviceIds', 'IoTDeviceIds'), fc.string()), value: fc.jsonValue() })),
      ),
      PreEntityImages: fc.jsonValue(),
    });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), contextLike), (value) => expectIssuesOrContext(decodeRemoteExecutionContext(JSON.stringify(value) ?? 'null'))),
    );
  });

  it('the XML reader answers random bytes and random text with a context or issues, never a throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }),
          fc.string({ maxLength: 512 }).map((s) => `<${s}`),
        ),
        (body) => expectIssuesOrContext(decodeRemoteExecutionContextXml(body)),
      ),
    );
  });

  it('the XML reader answers random XML made of a context’s element and type names with a context or issues, never a throw', () => {
    fc.assert(
      fc.property(rootedXml, (xml) => expectIssuesOrContext(decodeRemoteExecutionContextXml(xml))),
      { numRuns: 300 },
    );
  });

  it('a message of any content type and any body is read or refused with one of the typed codes, never a throw', () => {
    const contentType = fc.option(
      fc.oneof(fc.constantFrom('application/json', 'application/xml', 'application/msbin1', 'text/xml; charset=utf-8'), fc.string()),
      { nil: undefined },
    );
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      rootedXml.map((x) => new TextEncoder().encode(x)),
      rootedXml.map((x) => new TextEncoder().encode(Buffer.from(x).toString('base64'))),
      fc.jsonValue().map((j) => new TextEncoder().encode(JSON.stringify(j) ?? 'null')),
    );
    fc.assert(
      fc.property(
        contentType,
        body,
        fc.option(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.boolean(), fc.integer())), { nil: undefined }),
        (type, bytes, properties) => {
          const r = decodeServiceEndpointMessage({
            body: bytes,
            ...(type === undefined ? {} : { contentType: type }),
            ...(properties === undefined ? {} : { properties }),
          });
          if (!r.ok) {
            expect(CODES).toContain(r.error.code);
            expect(typeof r.error.message).toBe('string');
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('service endpoint message readers on hostile nesting', () => {
  it('answers a context nesting entities far past any real one with an issue, not a stack overflow', () => {
    const depth = 5_000;
    const open = '<KeyValuePairOfstringanyType><a:key>Target</a:key><a:value i:type="Entity"><Attributes>';
    const close = '</Attributes></a:value></KeyValuePairOfstringanyType>';
    const xml = `<RemoteExecutionContext xmlns:i="i" xmlns:a="a"><MessageName>Create</MessageName><PrimaryEntityName>x</PrimaryEntityName><InputParameters>${open.repeat(depth)}${close.repeat(depth)}</InputParameters></RemoteExecutionContext>`;
    expect(decodeRemoteExecutionContextXml(xml)).toMatchObject({ ok: false, error: [{ path: 'body' }] });
    const deep = 20_000;
    const json = `{"MessageName":"Create","PrimaryEntityName":"x","InputParameters":[${'{"key":"Target","value":{"__type":"Entity:c","LogicalName":"x","Attributes":['.repeat(deep)}${']}}'.repeat(deep)}]}`;
    expect(decodeRemoteExecutionContext(json)).toMatchObject({ ok: false, error: [{ message: 'nests values too deeply to be a RemoteExecutionContext' }] });
  });
});
