import { err, issue, type Result, type ValidationIssue } from '@fieldlink/domain';
import { XMLParser } from 'fast-xml-parser';
import {
  decodeRemoteExecutionContext,
  formatDataverseDate,
  type DataverseEntity,
  type DataverseEntityReference,
  type DataverseValue,
  type RemoteExecutionContext,
} from './remote-execution-context.js';

/*
 * The Text XML form of a Dataverse `RemoteExecutionContext` (service endpoint message format 3,
 * content type `application/xml`): what WCF's DataContractSerializer writes. Members are in
 * alphabetical order in the namespace `http://schemas.microsoft.com/xrm/2011/Contracts`;
 * parameter collections are `KeyValuePairOfstringanyType` elements whose `key` / `value` children
 * are in `http://schemas.datacontract.org/2004/07/System.Collections.Generic`, each value typed by
 * `i:type` (XML Schema types such as `b:string`, `b:int`, `b:dateTime`, serialization `guid`, or
 * a contract type such as `Entity`, `EntityReference`, `OptionSetValue`). Entity images are
 * `KeyValuePairOfstringEntity`, formatted values `KeyValuePairOfstringstring`.
 * References: https://learn.microsoft.com/en-us/power-apps/developer/data-platform/write-listener-application-azure-solution
 * and https://learn.microsoft.com/en-us/dotnet/api/microsoft.xrm.sdk.remoteexecutioncontext.
 *
 * The reader turns the XML into the DataContract JSON shape and reads that with the JSON reader,
 * so both formats give the same typed context and the same issues.
 */

export const XRM_CONTRACTS_NS = 'http://schemas.microsoft.com/xrm/2011/Contracts';
export const COLLECTIONS_NS = 'http://schemas.datacontract.org/2004/07/System.Collections.Generic';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
export const XSD_NS = 'http://www.w3.org/2001/XMLSchema';
export const SERIALIZATION_NS = 'http://schemas.microsoft.com/2003/10/Serialization/';

/** The largest Text XML body read (the service endpoint sends at most 192 KB; this leaves room for base64 and whitespace). */
export const REMOTE_EXECUTION_CONTEXT_XML_MAX = 1_048_576;

// ---- the XML tree (shared by the text writer and the .NET Binary XML writer) ----

/** An element: a qualified name (`prefix:local` or `local`), attributes in order, then text or children. */
export interface XmlElement {
  readonly name: string;
  readonly attributes: ReadonlyArray<readonly [string, string]>;
  readonly children: ReadonlyArray<XmlElement>;
  readonly text?: string;
}

const el = (name: string, attributes: ReadonlyArray<readonly [string, string]>, content: string | readonly XmlElement[] = []): XmlElement =>
  typeof content === 'string' ? { name, attributes, children: [], text: content } : { name, attributes, children: content };
const nil = (name: string): XmlElement => el(name, [['i:nil', 'true']]);
const textEl = (name: string, value: string | undefined): XmlElement => (value === undefined ? nil(name) : el(name, [], value));

/** DataContractSerializer writes a UTC DateTime as xs:dateTime with the fraction's trailing zeros dropped. */
export function formatXmlDateTime(epochMs: number): string {
  const iso = new Date(Math.trunc(epochMs)).toISOString(); // 2026-11-28T10:35:02.200Z
  return iso.replace(/\.(\d*?)0*Z$/, (_m, digits: string) => (digits === '' ? 'Z' : `.${digits}Z`));
}

function valueElement(name: string, value: DataverseValue): XmlElement {
  if (value === null) return nil(name);
  if (typeof value === 'string')
    return el(
      name,
      [
        ['i:type', 'c:string'],
        ['xmlns:c', XSD_NS],
      ],
      value,
    );
  if (typeof value === 'boolean')
    return el(
      name,
      [
        ['i:type', 'c:boolean'],
        ['xmlns:c', XSD_NS],
      ],
      String(value),
    );
  if (typeof value === 'number')
    return el(
      name,
      [
        ['i:type', Number.isInteger(value) && Math.abs(value) <= 2_147_483_647 ? 'c:int' : 'c:double'],
        ['xmlns:c', XSD_NS],
      ],
      String(value),
    );
  if (Array.isArray(value))
    return el(
      name,
      [
        ['i:type', 'c:string'],
        ['xmlns:c', XSD_NS],
      ],
      JSON.stringify(value),
    );
  const typed = value as Exclude<DataverseValue, string | number | boolean | null | readonly DataverseValue[]>;
  switch (typed.kind) {
    case 'DateTime':
      return el(
        name,
        [
          ['i:type', 'c:dateTime'],
          ['xmlns:c', XSD_NS],
        ],
        formatXmlDateTime(typed.epochMs),
      );
    case 'OptionSetValue':
      return el(name, [['i:type', 'OptionSetValue']], [el('Value', [], String(typed.value))]);
    case 'Money':
      return el(name, [['i:type', 'Money']], [el('Value', [], String(typed.value))]);
    case 'EntityReference':
      return el(name, [['i:type', 'EntityReference']], referenceChildren(typed));
    case 'Entity':
      return el(name, [['i:type', 'Entity']], entityChildren(typed));
    case 'EntityCollection':
      return el(
        name,
        [['i:type', 'EntityCollection']],
        [
          el(
            'Entities',
            [],
            typed.entities.map((e) => el('Entity', [], entityChildren(e))),
          ),
          textEl('EntityName', typed.entityName ?? undefined),
          nil('MinActiveRowVersion'),
          el('MoreRecords', [], 'false'),
          nil('PagingCookie'),
          el('TotalRecordCount', [], '-1'),
          el('TotalRecordCountLimitExceeded', [], 'false'),
        ],
      );
    case 'Unknown':
      return el(
        name,
        [
          ['i:type', 'c:string'],
          ['xmlns:c', XSD_NS],
        ],
        JSON.stringify(typed.raw),
      );
  }
}

const anyTypeCollection = (name: string, values: Readonly<Record<string, DataverseValue>>): XmlElement =>
  el(
    name,
    [['xmlns:a', COLLECTIONS_NS]],
    Object.entries(values).map(([key, value]) => el('KeyValuePairOfstringanyType', [], [el('a:key', [], key), valueElement('a:value', value)])),
  );

function referenceChildren(ref: DataverseEntityReference): XmlElement[] {
  return [
    el('Id', [], ref.id),
    el('KeyAttributes', [['xmlns:a', COLLECTIONS_NS]]),
    el('LogicalName', [], ref.logicalName),
    textEl('Name', ref.name ?? undefined),
    nil('RowVersion'),
  ];
}

function entityChildren(entity: DataverseEntity): XmlElement[] {
  return [
    anyTypeCollection('Attributes', entity.attributes),
    entity.entityState === undefined || entity.entityState === null ? nil('EntityState') : el('EntityState', [], String(entity.entityState)),
    el(
      'FormattedValues',
      [['xmlns:a', COLLECTIONS_NS]],
      Object.entries(entity.formattedValues ?? {}).map(([key, value]) =>
        el('KeyValuePairOfstringstring', [], [el('a:key', [], key), el('a:value', [], value)]),
      ),
    ),
    el('Id', [], entity.id),
    anyTypeCollection('KeyAttributes', entity.keyAttributes ?? {}),
    el('LogicalName', [], entity.logicalName),
    el('RelatedEntities', [['xmlns:a', COLLECTIONS_NS]]),
    textEl('RowVersion', entity.rowVersion ?? undefined),
  ];
}

const imageCollection = (name: string, images: Readonly<Record<string, DataverseEntity>>): XmlElement =>
  el(
    name,
    [['xmlns:a', COLLECTIONS_NS]],
    Object.entries(images).map(([key, entity]) => el('KeyValuePairOfstringEntity', [], [el('a:key', [], key), el('a:value', [], entityChildren(entity))])),
  );

/** The context as the element tree DataContractSerializer writes (members in alphabetical order). */
export function remoteExecutionContextXmlTree(ctx: RemoteExecutionContext): XmlElement {
  const opt = (name: string, value: string | number | boolean | undefined): XmlElement[] => (value === undefined ? [] : [el(name, [], String(value))]);
  return el(
    'RemoteExecutionContext',
    [
      ['xmlns', XRM_CONTRACTS_NS],
      ['xmlns:i', XSI_NS],
    ],
    [
      ...opt('BusinessUnitId', ctx.businessUnitId),
      ...opt('CorrelationId', ctx.correlationId),
      ...opt('Depth', ctx.depth),
      ...opt('InitiatingUserId', ctx.initiatingUserId),
      anyTypeCollection('InputParameters', ctx.inputParameters),
      ...opt('IsExecutingOffline', ctx.isExecutingOffline),
      ...opt('IsInTransaction', ctx.isInTransaction),
      ...opt('IsOfflinePlayback', ctx.isOfflinePlayback),
      ...opt('IsolationMode', ctx.isolationMode),
      el('MessageName', [], ctx.messageName),
      ...opt('Mode', ctx.mode),
      ...opt('OperationCreatedOn', ctx.operationCreatedOn === undefined ? undefined : formatXmlDateTime(ctx.operationCreatedOn)),
      ...opt('OperationId', ctx.operationId),
      ...opt('OrganizationId', ctx.organizationId),
      ...opt('OrganizationName', ctx.organizationName),
      anyTypeCollection('OutputParameters', ctx.outputParameters),
      ...(ctx.owningExtension === undefined ? [] : [el('OwningExtension', [], referenceChildren(ctx.owningExtension))]),
      nil('ParentContext'),
      imageCollection('PostEntityImages', ctx.postEntityImages),
      imageCollection('PreEntityImages', ctx.preEntityImages),
      el('PrimaryEntityId', [], ctx.primaryEntityId),
      el('PrimaryEntityName', [], ctx.primaryEntityName),
      ...opt('RequestId', ctx.requestId),
      ...opt('SecondaryEntityName', ctx.secondaryEntityName),
      anyTypeCollection('SharedVariables', ctx.sharedVariables),
      ...opt('Stage', ctx.stage),
      ...opt('UserId', ctx.userId),
    ],
  );
}

const escapeText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttribute = (s: string): string => escapeText(s).replace(/"/g, '&quot;');

export function writeXml(node: XmlElement): string {
  const attributes = node.attributes.map(([k, v]) => ` ${k}="${escapeAttribute(v)}"`).join('');
  if (node.text !== undefined) return `<${node.name}${attributes}>${escapeText(node.text)}</${node.name}>`;
  if (node.children.length === 0) return `<${node.name}${attributes}/>`;
  return `<${node.name}${attributes}>${node.children.map(writeXml).join('')}</${node.name}>`;
}

/** The context as a Text XML message body (UTF-8, no declaration, as the service endpoint posts it). */
export const encodeRemoteExecutionContextXml = (ctx: RemoteExecutionContext): Uint8Array =>
  new TextEncoder().encode(writeXml(remoteExecutionContextXmlTree(ctx)));

// ---- reading ----

type Node = Record<string, unknown>;
type Json = Record<string, unknown>;

const ARRAY_ELEMENTS = new Set(['KeyValuePairOfstringanyType', 'KeyValuePairOfstringstring', 'KeyValuePairOfstringEntity']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name, jpath) => ARRAY_ELEMENTS.has(name) || String(jpath).endsWith('.Entities.Entity'),
});

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);
const local = (qualified: string): string => qualified.slice(qualified.indexOf(':') + 1);

class XmlReader {
  readonly issues: ValidationIssue[] = [];

  /** The text of a simple element; undefined when absent or nil. */
  text(v: unknown): string | undefined {
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    if (isNode(v)) {
      if (v['@nil'] === 'true') return undefined;
      const t = v['#text'];
      return typeof t === 'string' ? t : '';
    }
    return undefined;
  }

  isNil = (v: unknown): boolean => isNode(v) && v['@nil'] === 'true';

  number(v: unknown, path: ReadonlyArray<string | number>): number | undefined {
    const t = this.text(v);
    if (t === undefined) return undefined;
    const n = Number(t.trim());
    if (t.trim() === '' || !Number.isFinite(n)) {
      this.issues.push(issue(path, `expected a number, got "${t.slice(0, 40)}"`));
      return undefined;
    }
    return n;
  }

  boolean(v: unknown, path: ReadonlyArray<string | number>): boolean | undefined {
    const t = this.text(v)?.trim();
    if (t === undefined) return undefined;
    if (t === 'true' || t === '1') return true;
    if (t === 'false' || t === '0') return false;
    this.issues.push(issue(path, 'expected true or false'));
    return undefined;
  }

  date(v: unknown, path: ReadonlyArray<string | number>): string | undefined {
    const t = this.text(v)?.trim();
    if (t === undefined) return undefined;
    // xs:dateTime; without a zone it is read as UTC (Dataverse writes UTC).
    const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.test(t)
      ? Date.parse(/(Z|[+-]\d{2}:\d{2})$/.test(t) ? t : `${t}Z`)
      : Number.NaN;
    if (!Number.isFinite(ms)) {
      this.issues.push(issue(path, 'expected an xs:dateTime'));
      return undefined;
    }
    return formatDataverseDate(ms);
  }

  list(
    v: unknown,
    element: string,
    path: ReadonlyArray<string | number>,
    read: (value: unknown, path: ReadonlyArray<string | number>) => unknown,
  ): Array<{ key: string; value: unknown }> {
    if (v === undefined || this.isNil(v) || typeof v === 'string') return [];
    if (!isNode(v)) return [];
    const entries = v[element];
    if (entries === undefined) return [];
    const out: Array<{ key: string; value: unknown }> = [];
    (entries as unknown[]).forEach((entry, i) => {
      const key = isNode(entry) ? this.text(entry['key']) : undefined;
      if (key === undefined || !isNode(entry)) {
        this.issues.push(issue([...path, i], 'expected a key'));
        return;
      }
      out.push({ key, value: read(entry['value'], [...path, key]) });
    });
    return out;
  }

  anyList = (v: unknown, path: ReadonlyArray<string | number>): Array<{ key: string; value: unknown }> =>
    this.list(v, 'KeyValuePairOfstringanyType', path, (value, p) => this.value(value, p));

  reference(v: unknown): Json {
    const n = isNode(v) ? v : {};
    return { Id: this.text(n['Id']), LogicalName: this.text(n['LogicalName']), Name: this.text(n['Name']) ?? null };
  }

  entity(v: unknown, path: ReadonlyArray<string | number>): Json {
    const n = isNode(v) ? v : {};
    const state = n['EntityState'];
    return {
      __type: `Entity:${XRM_CONTRACTS_NS}`,
      Attributes: this.anyList(n['Attributes'], [...path, 'Attributes']),
      FormattedValues: this.list(n['FormattedValues'], 'KeyValuePairOfstringstring', [...path, 'FormattedValues'], (value) => this.text(value) ?? null),
      KeyAttributes: this.anyList(n['KeyAttributes'], [...path, 'KeyAttributes']),
      Id: this.text(n['Id']),
      LogicalName: this.text(n['LogicalName']),
      EntityState: state === undefined || this.isNil(state) ? null : this.number(state, [...path, 'EntityState']),
      RowVersion: this.text(n['RowVersion']) ?? null,
    };
  }

  /** A typed `value` element as the DataContract JSON value it stands for. */
  value(v: unknown, path: ReadonlyArray<string | number>): unknown {
    if (v === undefined || this.isNil(v)) return null;
    const type = isNode(v) && typeof v['@type'] === 'string' ? local(v['@type']) : undefined;
    switch (type) {
      case undefined:
      case 'string':
      case 'guid':
      case 'char':
      case 'anyURI':
        return this.text(v) ?? null;
      case 'int':
      case 'long':
      case 'short':
      case 'byte':
      case 'unsignedInt':
      case 'unsignedLong':
      case 'unsignedShort':
      case 'unsignedByte':
      case 'decimal':
      case 'double':
      case 'float':
        return this.number(v, path) ?? null;
      case 'boolean':
        return this.boolean(v, path) ?? null;
      case 'dateTime':
        return this.date(v, path) ?? null;
      case 'Entity':
        return this.entity(v, path);
      case 'EntityReference':
        return { __type: `EntityReference:${XRM_CONTRACTS_NS}`, ...this.reference(v) };
      case 'OptionSetValue':
      case 'Money':
        return { __type: `${type}:${XRM_CONTRACTS_NS}`, Value: this.number((v as Node)['Value'], [...path, 'Value']) ?? null };
      case 'EntityCollection': {
        const entities = (v as Node)['Entities'];
        const list = isNode(entities) && Array.isArray(entities['Entity']) ? (entities['Entity'] as unknown[]) : [];
        return {
          __type: `EntityCollection:${XRM_CONTRACTS_NS}`,
          Entities: list.map((e, i) => this.entity(e, [...path, 'Entities', i])),
          EntityName: this.text((v as Node)['EntityName']) ?? null,
        };
      }
      default:
        // Carried along as it came: the JSON reader keeps it as an Unknown value.
        return { __type: type, raw: this.text(v) ?? null };
    }
  }
}

/** Reads a Text XML RemoteExecutionContext; never throws. Issues name what was wrong. */
export function decodeRemoteExecutionContextXml(body: Uint8Array | string): Result<RemoteExecutionContext, ValidationIssue[]> {
  let text: string;
  if (typeof body === 'string') text = body;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      return err([issue(['body'], 'is not valid UTF-8')]);
    }
  }
  if (text.length > REMOTE_EXECUTION_CONTEXT_XML_MAX)
    return err([issue(['body'], `is ${text.length} characters; at most ${REMOTE_EXECUTION_CONTEXT_XML_MAX} are read`)]);
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) return err([issue(['body'], 'holds a document type declaration, which a RemoteExecutionContext never has')]);
  let doc: unknown;
  try {
    doc = parser.parse(text, true);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return err([issue(['body'], `is not well-formed XML (${message.slice(0, 200)})`)]);
  }
  const root = isNode(doc) ? doc['RemoteExecutionContext'] : undefined;
  if (!isNode(root)) return err([issue(['body'], 'expected a RemoteExecutionContext element')]);
  try {
    return readContext(root);
  } catch (e) {
    // Only a value nested past the stack's depth gets here; a context is a few levels deep.
    if (e instanceof RangeError) return err([issue(['body'], 'nests values too deeply to be a RemoteExecutionContext')]);
    throw e;
  }
}

function readContext(root: Node): Result<RemoteExecutionContext, ValidationIssue[]> {
  const r = new XmlReader();
  const t = (name: string): string | undefined => r.text(root[name]);
  const owning = root['OwningExtension'];
  const json: Json = {
    BusinessUnitId: t('BusinessUnitId'),
    CorrelationId: t('CorrelationId'),
    Depth: r.number(root['Depth'], ['Depth']),
    InitiatingUserId: t('InitiatingUserId'),
    InputParameters: r.anyList(root['InputParameters'], ['InputParameters']),
    IsExecutingOffline: r.boolean(root['IsExecutingOffline'], ['IsExecutingOffline']),
    IsInTransaction: r.boolean(root['IsInTransaction'], ['IsInTransaction']),
    IsOfflinePlayback: r.boolean(root['IsOfflinePlayback'], ['IsOfflinePlayback']),
    IsolationMode: r.number(root['IsolationMode'], ['IsolationMode']),
    MessageName: t('MessageName'),
    Mode: r.number(root['Mode'], ['Mode']),
    OperationCreatedOn: r.date(root['OperationCreatedOn'], ['OperationCreatedOn']),
    OperationId: t('OperationId'),
    OrganizationId: t('OrganizationId'),
    OrganizationName: t('OrganizationName'),
    OutputParameters: r.anyList(root['OutputParameters'], ['OutputParameters']),
    OwningExtension: owning === undefined || r.isNil(owning) ? undefined : r.reference(owning),
    PostEntityImages: r.list(root['PostEntityImages'], 'KeyValuePairOfstringEntity', ['PostEntityImages'], (v, p) => r.entity(v, p)),
    PreEntityImages: r.list(root['PreEntityImages'], 'KeyValuePairOfstringEntity', ['PreEntityImages'], (v, p) => r.entity(v, p)),
    PrimaryEntityId: t('PrimaryEntityId'),
    PrimaryEntityName: t('PrimaryEntityName'),
    RequestId: t('RequestId'),
    SecondaryEntityName: t('SecondaryEntityName'),
    SharedVariables: r.anyList(root['SharedVariables'], ['SharedVariables']),
    Stage: r.number(root['Stage'], ['Stage']),
    UserId: t('UserId'),
  };
  if (r.issues.length > 0) return err(r.issues);
  return decodeRemoteExecutionContext(json);
}

// ---- .NET Binary XML (MC-NBFX), the service endpoint's "Binary XML" format ----

/*
 * Writes the element tree in .NET Binary XML ([MC-NBFX],
 * https://learn.microsoft.com/en-us/openspecs/windows_protocols/mc-nbfx/) using only the records
 * that carry their strings inline (no dictionary references, which [MC-NBFS] permits but does not
 * require): ShortElement 0x40, Element 0x41, PrefixElement 0x5E–0x77, EndElement 0x01,
 * ShortAttribute 0x04, Attribute 0x05, PrefixAttribute 0x26–0x3F, ShortXmlnsAttribute 0x08,
 * XmlnsAttribute 0x09, EmptyText 0xA8 and Chars8/16/32Text 0x98/0x9A/0x9C (+1: with EndElement).
 * Strings are a MultiByteInt31 byte length then UTF-8.
 */
class NbfxWriter {
  private readonly bytes: number[] = [];
  private readonly encoder = new TextEncoder();

  result = (): Uint8Array => Uint8Array.from(this.bytes);

  private byte(b: number): void {
    this.bytes.push(b & 0xff);
  }

  private multiByteInt31(n: number): void {
    let v = n;
    while (v >= 0x80) {
      this.byte((v & 0x7f) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  private string(s: string): void {
    const utf8 = this.encoder.encode(s);
    this.multiByteInt31(utf8.length);
    for (const b of utf8) this.byte(b);
  }

  /** A text record (0x98/0x9A/0x9C, or EmptyText); `withEnd` uses the variant that also ends the element. */
  private text(s: string, withEnd: boolean): void {
    const utf8 = this.encoder.encode(s);
    const end = withEnd ? 1 : 0;
    if (utf8.length === 0 && !withEnd) return this.byte(0xa8);
    if (utf8.length <= 0xff) {
      this.byte(0x98 + end);
      this.byte(utf8.length);
    } else if (utf8.length <= 0xffff) {
      this.byte(0x9a + end);
      this.byte(utf8.length & 0xff);
      this.byte(utf8.length >> 8);
    } else {
      this.byte(0x9c + end);
      for (let i = 0; i < 4; i++) this.byte((utf8.length >>> (8 * i)) & 0xff);
    }
    for (const b of utf8) this.byte(b);
  }

  private qualified(name: string): { prefix: string; local: string } {
    const colon = name.indexOf(':');
    return colon < 0 ? { prefix: '', local: name } : { prefix: name.slice(0, colon), local: name.slice(colon + 1) };
  }

  element(node: XmlElement): void {
    const { prefix, local: name } = this.qualified(node.name);
    if (prefix === '') this.byte(0x40);
    else if (/^[a-z]$/.test(prefix)) this.byte(0x5e + prefix.charCodeAt(0) - 97);
    else {
      this.byte(0x41);
      this.string(prefix);
    }
    this.string(name);
    for (const [key, value] of node.attributes) {
      if (key === 'xmlns') {
        this.byte(0x08);
        this.string(value);
        continue;
      }
      if (key.startsWith('xmlns:')) {
        this.byte(0x09);
        this.string(key.slice(6));
        this.string(value);
        continue;
      }
      const a = this.qualified(key);
      if (a.prefix === '') this.byte(0x04);
      else if (/^[a-z]$/.test(a.prefix)) this.byte(0x26 + a.prefix.charCodeAt(0) - 97);
      else {
        this.byte(0x05);
        this.string(a.prefix);
      }
      this.string(a.local);
      this.text(value, false);
    }
    if (node.text !== undefined && node.text !== '') return this.text(node.text, true);
    for (const child of node.children) this.element(child);
    this.byte(0x01);
  }
}

/** The element tree as .NET Binary XML bytes. */
export function writeNbfx(node: XmlElement): Uint8Array {
  const w = new NbfxWriter();
  w.element(node);
  return w.result();
}

/** The context as a Binary XML message body (`application/msbin1`). */
export const encodeRemoteExecutionContextBinaryXml = (ctx: RemoteExecutionContext): Uint8Array => writeNbfx(remoteExecutionContextXmlTree(ctx));
