import { randomUUID } from 'node:crypto';
import type { TableSchema } from './cfs-schema.js';
import { CfsPlugins } from './cfs-plugins.js';
import { DataverseFault, notFound } from './dataverse-fault.js';
import { DEVICE_UPDATE_FILTERING_ATTRIBUTES, type IoTServiceEndpoint, type PendingContext } from './iot-service-endpoint.js';
import { ODataSyntaxError, parseFilter, parseRecordKey, type FilterNode } from './odata-filter.js';
import { wholeSeconds, type ColumnValues, type OrderBy, type RecordStore, type WireRecord } from './record-store.js';

export interface ApiRequest {
  readonly method: string;
  /** Path and query after the Web API root (`msdyn_iotalerts(…)?$select=…`). */
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

const MAX_INT32 = 2_147_483_647;
const JSON_HEADERS = { 'Content-Type': 'application/json; odata.metadata=minimal', 'OData-Version': '4.0' };
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  421: 'Misdirected Request',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};
export const statusText = (status: number): string => STATUS_TEXT[status] ?? 'Unknown';

/**
 * One Web API operation against the store: create, retrieve, update / upsert with If-Match and
 * If-None-Match, delete, retrieveMultiple, and the CFS actions. Synchronous (SQLite is), so a
 * `$batch` changeset can run several of them in one transaction; the contexts for the IoT
 * service endpoint are collected into `effects` and posted only after the commit.
 */
export class DataverseWebApi {
  constructor(
    private readonly store: RecordStore,
    private readonly endpoint: IoTServiceEndpoint,
    private readonly webApiRoot: () => string,
    private readonly plugins: CfsPlugins = new CfsPlugins(store),
  ) {}

  /** `@odata.context` of a collection or (`entity`) one record, with the `$select` list as Dataverse writes it. */
  private contextOf(table: TableSchema, q: URLSearchParams, entity: boolean): string {
    const select = q.get('$select');
    return `${this.webApiRoot()}$metadata#${table.entitySet}${select ? `(${select})` : ''}${entity ? '/$entity' : ''}`;
  }

  handle(request: ApiRequest, effects: PendingContext[]): ApiResponse {
    try {
      return this.route(request, effects);
    } catch (e) {
      if (e instanceof DataverseFault) return { status: e.status, headers: { ...JSON_HEADERS, ...e.headers }, body: e.body() };
      if (e instanceof ODataSyntaxError) return fault(400, '0x80060888', `Syntax error in the query: ${e.message}`);
      if (e instanceof URIError) return fault(400, '0x80060888', 'The URL has malformed percent-encoding.');
      throw e;
    }
  }

  private route(request: ApiRequest, effects: PendingContext[]): ApiResponse {
    const url = URL.canParse(request.target, 'http://emulator/') ? new URL(request.target, 'http://emulator/') : undefined;
    if (url === undefined) throw new DataverseFault(400, '0x80060888', `The URL ${JSON.stringify(request.target.slice(0, 80))} is malformed.`);
    const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
    const q = url.searchParams;
    const method = request.method.toUpperCase();
    if (path === 'WhoAmI' && method === 'GET')
      return this.json(200, { '@odata.context': `${this.webApiRoot()}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`, UserId: randomUUID() });
    if (path === 'msdyn_RegisterIoTDevice' || path === 'msdyn_PullDataForIoTDevice') {
      if (method !== 'POST') throw new DataverseFault(405, '0x80060888', `${path} is an action: use POST.`);
      return this.action(path, parseBody(request.body), effects);
    }
    const definitions = /^EntityDefinitions\(LogicalName='([A-Za-z0-9_]+)'\)\/Attributes$/.exec(path);
    if (definitions !== null && method === 'GET') return this.attributeDefinitions(definitions[1]!, q);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\((.*?)\))?(?:\/([A-Za-z_][A-Za-z0-9_]*)(\/\$ref)?)?$/s.exec(path);
    const table = m ? this.store.table(m[1]!) : undefined;
    if (!m || table === undefined) throw new DataverseFault(404, '0x80060888', `Resource not found for the segment '${path.split(/[(/]/)[0]}'.`);
    const keyText = m[2];
    if (m[3] !== undefined) {
      if (keyText === undefined) throw new DataverseFault(400, '0x80060888', `A navigation segment needs a record: ${path}.`);
      return this.navigation(table, keyText, m[3], m[4] !== undefined, method, request, q);
    }
    if (keyText === undefined) {
      if (method === 'GET') return this.retrieveMultiple(table, q);
      if (method === 'POST') return this.create(table, request, q, effects);
      throw new DataverseFault(405, '0x80060888', `${method} is not supported on the collection ${table.entitySet}.`);
    }
    const key = parseRecordKey(keyText);
    const existing = key.kind === 'id' ? this.store.get(table, key.id) : this.store.findByAlternateKey(table, key.values);
    const keyDescription = key.kind === 'id' ? key.id : keyText;
    switch (method) {
      case 'GET':
        if (existing === undefined) throw notFound(table.logicalName, keyDescription);
        return this.json(200, { '@odata.context': this.contextOf(table, q, true), ...this.shape(table, existing, q) });
      case 'PATCH':
        return this.patch(table, key, existing, request, q, effects);
      case 'DELETE':
        if (existing === undefined) throw notFound(table.logicalName, keyDescription);
        this.store.delete(table, String(existing[table.primaryKey]));
        return { status: 204, headers: { 'OData-Version': '4.0' } };
      default:
        throw new DataverseFault(405, '0x80060888', `${method} is not supported on a record.`);
    }
  }

  private create(table: TableSchema, request: ApiRequest, q: URLSearchParams, effects: PendingContext[]): ApiResponse {
    const body = parseBody(request.body);
    const givenId = body[table.primaryKey];
    if (givenId !== undefined && (typeof givenId !== 'string' || !GUID.test(givenId)))
      throw new DataverseFault(400, '0x80060888', `${table.primaryKey} must be a GUID.`);
    const id = (givenId as string | undefined) ?? randomUUID();
    if (this.store.get(table, id) !== undefined)
      throw new DataverseFault(412, '0x80040237', `Cannot insert duplicate key: a ${table.logicalName} with id ${id} exists.`);
    const values = this.valuesOf(table, body);
    this.plugins.preCreate(table, values);
    const record = this.store.insert(table, id, withDefaults(table, values));
    this.afterCreate(table, record, effects);
    return this.written(table, record, 201, request, q);
  }

  /**
   * `EntityDefinitions(LogicalName='…')/Attributes`: the table's columns as attribute metadata
   * (LogicalName, AttributeType, RequiredLevel), `$filter` on LogicalName. The Web API shape of
   * https://learn.microsoft.com/en-us/power-apps/developer/data-platform/webapi/query-metadata-web-api.
   */
  private attributeDefinitions(logicalName: string, q: URLSearchParams): ApiResponse {
    const table = this.store.tables().find((t) => t.logicalName === logicalName);
    if (table === undefined) throw new DataverseFault(404, '0x80040217', `Could not find an entity with name ${logicalName}.`);
    const all = [table.primaryKey, ...Object.keys(table.definitions), 'createdon', 'modifiedon', 'versionnumber'];
    const filterText = q.get('$filter');
    const filter = filterText ? parseFilter(filterText) : undefined;
    const matches = (node: FilterNode, name: string): boolean => {
      switch (node.kind) {
        case 'and':
          return matches(node.left, name) && matches(node.right, name);
        case 'or':
          return matches(node.left, name) || matches(node.right, name);
        case 'not':
          return !matches(node.operand, name);
        case 'compare':
          if (node.property !== 'LogicalName' || node.literal.kind !== 'string' || (node.op !== 'eq' && node.op !== 'ne')) break;
          return (name === node.literal.value) === (node.op === 'eq');
        default:
          break;
      }
      throw new DataverseFault(400, '0x80060888', 'The emulator filters attribute metadata by LogicalName eq/ne only.');
    };
    const value = all
      .filter((name) => filter === undefined || matches(filter, name))
      .map((name) => {
        const definition = table.definitions[name];
        return {
          LogicalName: name,
          AttributeType: definition === undefined ? (name === table.primaryKey ? 'Uniqueidentifier' : 'DateTime') : attributeTypeOf(definition.type),
          RequiredLevel: { Value: definition?.requiredLevel ?? 'None' },
          IsCustomAttribute: definition?.origin === 'extension',
        };
      });
    return this.json(200, { '@odata.context': `${this.webApiRoot()}$metadata#EntityDefinitions('${logicalName}')/Attributes`, value });
  }

  /** `set(id)/relationship` (GET: the related records) and `set(id)/relationship/$ref` (POST: associate). */
  private navigation(table: TableSchema, keyText: string, nav: string, ref: boolean, method: string, request: ApiRequest, q: URLSearchParams): ApiResponse {
    const key = parseRecordKey(keyText);
    if (key.kind !== 'id') throw new DataverseFault(400, '0x80060888', 'Address the record by its id to follow a navigation property.');
    const record = this.store.get(table, key.id);
    if (record === undefined) throw notFound(table.logicalName, key.id);
    const rel = table.manyToMany.find((r) => r.name === nav);
    if (rel === undefined)
      throw new DataverseFault(400, '0x0', `Could not find a property named '${nav}' on type 'Microsoft.Dynamics.CRM.${table.logicalName}'.`);
    const target = this.store.table(rel.target)!;
    if (ref && method === 'POST') {
      const body = parseBody(request.body);
      const m = typeof body['@odata.id'] === 'string' ? /(?:^|\/)([A-Za-z_][A-Za-z0-9_]*)\(([^)]*)\)$/.exec(body['@odata.id']) : null;
      if (m === null || m[1] !== rel.target || !GUID.test(m[2]!))
        throw new DataverseFault(400, '0x80060888', `The @odata.id of a ${nav} reference must be a ${rel.target}(<id>) URL.`);
      if (this.store.get(target, m[2]!) === undefined) throw notFound(target.logicalName, m[2]!);
      this.store.associate(rel.name, key.id, m[2]!);
      return { status: 204, headers: { 'OData-Version': '4.0' } };
    }
    if (!ref && method === 'GET') {
      const rows = this.store.related(rel.name, key.id).flatMap((id): WireRecord[] => {
        const found = this.store.get(target, id);
        return found === undefined ? [] : [found];
      });
      return this.json(200, { '@odata.context': this.contextOf(target, q, false), value: rows.map((r) => this.shape(target, r, q)) });
    }
    throw new DataverseFault(405, '0x80060888', `${method} is not supported on ${nav}${ref ? '/$ref' : ''}.`);
  }

  private patch(
    table: TableSchema,
    key: ReturnType<typeof parseRecordKey>,
    existing: WireRecord | undefined,
    request: ApiRequest,
    q: URLSearchParams,
    effects: PendingContext[],
  ): ApiResponse {
    const ifMatch = header(request, 'if-match');
    const ifNoneMatch = header(request, 'if-none-match');
    const body = parseBody(request.body);
    const values = this.valuesOf(table, body);
    if (existing === undefined) {
      if (ifMatch !== undefined) throw notFound(table.logicalName, key.kind === 'id' ? key.id : [...key.values.keys()].join(','));
      // Upsert creates the record under the key it was addressed by.
      const id = key.kind === 'id' ? key.id : randomUUID();
      if (key.kind === 'alternate') for (const [name, lit] of key.values) values[name] = 'value' in lit ? lit.value : null;
      this.plugins.preCreate(table, values);
      const record = this.store.insert(table, id, withDefaults(table, values));
      this.afterCreate(table, record, effects);
      return this.written(table, record, 201, request, q);
    }
    if (ifNoneMatch === '*')
      throw new DataverseFault(
        412,
        '0x80060882',
        `A record with matching key values already exists (${table.logicalName} ${String(existing[table.primaryKey])}).`,
      );
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etagOf(existing)) {
      throw new DataverseFault(412, '0x80060882', 'The version of the existing record does not match the RowVersion property provided.');
    }
    const id = String(existing[table.primaryKey]);
    const updated = Object.keys(values).length === 0 ? existing : this.store.update(table, id, values);
    this.afterUpdate(table, Object.keys(values), existing, updated, effects);
    return this.written(table, updated, 200, request, q);
  }

  private retrieveMultiple(table: TableSchema, q: URLSearchParams): ApiResponse {
    // Every $select name is checked against the table, whether or not any row comes back.
    for (const name of (q.get('$select') ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== ''))
      this.store.sqlColumn(table, name);
    const filterText = q.get('$filter');
    const orderText = q.get('$orderby');
    const topText = q.get('$top');
    const orderBy: OrderBy[] = orderText
      ? orderText.split(',').map((part) => {
          const [column, direction] = part.trim().split(/\s+/);
          if (direction !== undefined && direction !== 'asc' && direction !== 'desc')
            throw new DataverseFault(400, '0x80060888', `Invalid $orderby direction '${direction}'.`);
          this.store.sqlColumn(table, column!);
          return { column: column!, descending: direction === 'desc' };
        })
      : [];
    let top: number | undefined;
    if (topText !== null) {
      // An Edm.Int32 written in digits: not 1e308, not 1.0, not past 2147483647.
      top = /^\d{1,10}$/.test(topText) ? Number(topText) : Number.NaN;
      if (!(top <= MAX_INT32))
        throw new DataverseFault(400, '0x80060888', `Invalid $top value '${topText.slice(0, 40)}': expected a whole number from 0 to ${MAX_INT32}.`);
    }
    const rows = this.store.query(table, { ...(filterText ? { filter: parseFilter(filterText) } : {}), orderBy, ...(top !== undefined ? { top } : {}) });
    return this.json(200, { '@odata.context': this.contextOf(table, q, false), value: rows.map((r) => this.shape(table, r, q)) });
  }

  private action(name: string, body: Record<string, unknown>, effects: PendingContext[]): ApiResponse {
    const idsText = body['IoTDeviceIds'];
    if (typeof idsText !== 'string' || idsText.trim() === '')
      throw new DataverseFault(400, '0x80040203', `${name}: the parameter IoTDeviceIds (comma-separated msdyn_iotdevice ids) is required.`);
    const devicesTable = this.store.table('msdyn_iotdevices')!;
    const devices = idsText.split(',').map((raw) => {
      const id = raw.trim();
      const device = GUID.test(id) ? this.store.get(devicesTable, id) : undefined;
      if (device === undefined) throw notFound(devicesTable.logicalName, id);
      return device;
    });
    if (name === 'msdyn_RegisterIoTDevice') {
      const inProgress = devices.map((d) => this.store.update(devicesTable, String(d['msdyn_iotdeviceid']), { msdyn_registrationstatus: 192350002 }));
      effects.push(this.endpoint.registerDevices(inProgress));
    } else {
      effects.push(this.endpoint.pullDeviceData(devices));
    }
    return { status: 204, headers: { 'OData-Version': '4.0' } };
  }

  private afterCreate(table: TableSchema, record: WireRecord, effects: PendingContext[]): void {
    if (table.logicalName === 'msdyn_iotdevicecommand') effects.push(this.endpoint.created(table, record));
  }

  private afterUpdate(table: TableSchema, changed: readonly string[], before: WireRecord, after: WireRecord, effects: PendingContext[]): void {
    if (table.logicalName !== 'msdyn_iotdevice') return;
    const relevant = changed.filter((c) => (DEVICE_UPDATE_FILTERING_ATTRIBUTES as readonly string[]).includes(c) && before[c] !== after[c]);
    if (relevant.length > 0) effects.push(this.endpoint.updated(table, changed, before, after));
  }

  private written(table: TableSchema, record: WireRecord, statusWithBody: number, request: ApiRequest, q: URLSearchParams): ApiResponse {
    const entityId = `${this.webApiRoot()}${table.entitySet}(${String(record[table.primaryKey])})`;
    if (/return=representation/.test(header(request, 'prefer') ?? '')) {
      const body = { '@odata.context': this.contextOf(table, q, true), ...this.shape(table, record, q) };
      return { status: statusWithBody, headers: { ...JSON_HEADERS, 'OData-EntityId': entityId, ETag: etagOf(record) }, body: JSON.stringify(body) };
    }
    return { status: 204, headers: { 'OData-Version': '4.0', 'OData-EntityId': entityId } };
  }

  /** `$select` and `$expand` applied to a record, with its etag. */
  private shape(table: TableSchema, record: WireRecord, q: URLSearchParams): Record<string, unknown> {
    const select = q.get('$select');
    const out: Record<string, unknown> = { '@odata.etag': etagOf(record) };
    if (select) {
      for (const name of select.split(',').map((s) => s.trim())) {
        const col = this.store.sqlColumn(table, name);
        out[col.name] = record[col.name] ?? null;
      }
      out[table.primaryKey] = record[table.primaryKey];
    } else {
      Object.assign(out, record);
    }
    const expand = q.get('$expand');
    if (expand) {
      for (const item of splitTopLevel(expand)) {
        const em = /^([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?$/s.exec(item.trim());
        const nav = em?.[1];
        const inner = new URLSearchParams((em?.[2] ?? '').replaceAll(';', '&'));
        const rel = table.manyToMany.find((r) => r.name === nav);
        if (nav !== undefined && rel !== undefined) {
          const target = this.store.table(rel.target)!;
          out[nav] = this.store.related(rel.name, String(record[table.primaryKey])).flatMap((id) => {
            const found = this.store.get(target, id);
            return found === undefined ? [] : [this.shape(target, found, inner)];
          });
          continue;
        }
        // Single-valued navigation properties are matched with their case, as Dataverse does.
        const lookup = nav === undefined ? undefined : Object.entries(table.columns).find(([, t]) => t.kind === 'lookup' && nav in t.navigations);
        if (nav === undefined || lookup === undefined || lookup[1].kind !== 'lookup') {
          throw new DataverseFault(400, '0x0', `Could not find a property named '${em?.[1] ?? item}' on type 'Microsoft.Dynamics.CRM.${table.logicalName}'.`);
        }
        const id = record[`_${lookup[0]}_value`];
        const target = this.store.table(lookup[1].navigations[nav]!)!;
        const found = typeof id === 'string' ? this.store.get(target, id) : undefined;
        out[nav] = found === undefined ? null : this.shape(target, found, inner);
      }
    }
    return out;
  }

  /** The body's attributes as column values: type and length checked, `@odata.bind` resolved. */
  private valuesOf(table: TableSchema, body: Record<string, unknown>): ColumnValues {
    const values: ColumnValues = {};
    for (const [name, value] of Object.entries(body)) {
      if (name === table.primaryKey) continue;
      if (name.endsWith('@odata.bind')) {
        const [column, boundValue] = this.bound(table, name.slice(0, -'@odata.bind'.length), value);
        values[column] = boundValue;
        continue;
      }
      if (name.startsWith('@') || name.includes('@odata.')) continue;
      const type = table.columns[name];
      if (type === undefined || type.kind === 'lookup') {
        // As Dataverse answers an unknown property in a body (quoted in verbb/formie#1251).
        throw new DataverseFault(
          400,
          '0x80048d19',
          `Error identified in Payload provided by the user for Entity :'${table.entitySet}', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293 ----> InnerException : Microsoft.Crm.CrmException: Invalid property '${name}' was found in entity 'Microsoft.Dynamics.CRM.${table.logicalName}'.`,
        );
      }
      if (table.definitions[name]?.readOnly === true) continue;
      if (value === null) {
        values[name] = null;
        continue;
      }
      const wrongType = (expected: string): never => {
        throw new DataverseFault(400, '0x80060888', `Cannot convert the literal '${JSON.stringify(value)}' to the expected type '${expected}' for '${name}'.`);
      };
      switch (type.kind) {
        case 'string':
          if (typeof value !== 'string') wrongType('Edm.String');
          if ((value as string).length > type.maxLength) {
            throw new DataverseFault(
              400,
              '0x80044331',
              `A validation error occurred. The length of the '${name}' attribute of the '${table.logicalName}' entity exceeded the maximum allowed length of '${type.maxLength}'.`,
            );
          }
          values[name] = value;
          break;
        case 'int':
          if (typeof value !== 'number' || !Number.isInteger(value)) wrongType('Edm.Int32');
          values[name] = value;
          break;
        case 'option':
          if (typeof value !== 'number' || !Number.isInteger(value)) wrongType('Edm.Int32');
          if (!type.values.includes(value as number)) {
            throw new DataverseFault(
              400,
              '0x8004431a',
              `A validation error occurred. The value ${String(value)} of '${name}' on record of type '${table.logicalName}' is outside the valid range. Accepted Values: ${type.values.join(',')}`,
            );
          }
          values[name] = value;
          break;
        case 'double':
          if (typeof value !== 'number') wrongType('Edm.Double');
          values[name] = value;
          break;
        case 'guid':
          if (typeof value !== 'string' || !GUID.test(value)) wrongType('Edm.Guid');
          values[name] = value;
          break;
        case 'bool':
          if (typeof value !== 'boolean') wrongType('Edm.Boolean');
          values[name] = value;
          break;
        case 'datetime': {
          const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
          if (Number.isNaN(ms)) wrongType('Edm.DateTimeOffset');
          values[name] = wholeSeconds(ms);
          break;
        }
      }
    }
    return values;
  }

  /** `nav@odata.bind`: `/set(id)` (or an absolute URL) checked against the lookup's targets; null clears. */
  private bound(table: TableSchema, nav: string, value: unknown): [string, string | null] {
    // Navigation property names are case-sensitive: `msdyn_Device`, never `msdyn_device` (unless that is its name).
    const entry = Object.entries(table.columns).find(([, t]) => t.kind === 'lookup' && nav in t.navigations);
    if (entry === undefined || entry[1].kind !== 'lookup') {
      // The OData reader's answer to an annotation on an undeclared property (quoted from Dataverse in
      // microsoft/PowerPlatform-DataverseServiceClient#44 and #31, OData/WebApi#2410).
      throw new DataverseFault(
        400,
        '0x0',
        `An error occurred while validating input parameters: Microsoft.OData.ODataException: An undeclared property '${nav}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`,
      );
    }
    const [column, lookup] = entry;
    const type = { targets: [lookup.navigations[nav]!] };
    if (value === null) return [column, null];
    const m = typeof value === 'string' ? /(?:^|\/)([A-Za-z_][A-Za-z0-9_]*)\(([^)]*)\)$/.exec(value) : null;
    if (m === null || !GUID.test(m[2]!))
      throw new DataverseFault(400, '0x80060888', `The @odata.bind value of '${nav}' must be /<entity set>(<id>), got ${JSON.stringify(value)}.`);
    if (!type.targets.includes(m[1]!))
      throw new DataverseFault(400, '0x80060888', `'${nav}' cannot point to ${m[1]}; it points to ${type.targets.join(' or ')}.`);
    const target = this.store.table(m[1]!)!;
    if (this.store.get(target, m[2]!) === undefined) throw notFound(target.logicalName, m[2]!);
    return [column, m[2]!.toLowerCase()];
  }

  private json(status: number, body: unknown): ApiResponse {
    return { status, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
  }
}

function attributeTypeOf(type: TableSchema['columns'][string]): string {
  return {
    string: 'String',
    int: 'Integer',
    option: 'Picklist',
    bool: 'Boolean',
    datetime: 'DateTime',
    double: 'Double',
    guid: 'Uniqueidentifier',
    lookup: 'Lookup',
  }[type.kind];
}

const fault = (status: number, code: string, message: string): ApiResponse => ({
  status,
  headers: { ...JSON_HEADERS },
  body: new DataverseFault(status, code, message).body(),
});

export const etagOf = (record: WireRecord): string => `W/"${String(record['versionnumber'] ?? 0)}"`;

function header(request: ApiRequest, name: string): string | undefined {
  for (const [k, v] of Object.entries(request.headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

function parseBody(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    throw new DataverseFault(400, '0x80060891', `The request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new DataverseFault(400, '0x80060891', 'The request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}

/** New records start Active, as Dataverse sets statecode and statuscode by default. */
function withDefaults(table: TableSchema, values: ColumnValues): ColumnValues {
  const out = { ...values };
  if ('statecode' in table.columns && out['statecode'] == null) out['statecode'] = 0;
  if ('statuscode' in table.columns && out['statuscode'] == null) out['statuscode'] = 1;
  if (table.logicalName === 'msdyn_iotdevicecommand' && out['msdyn_commandstatus'] == null) out['msdyn_commandstatus'] = 192350000;
  return out;
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
