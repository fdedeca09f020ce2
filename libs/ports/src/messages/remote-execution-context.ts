import { err, issue, ok, type Result, type ValidationIssue } from '@fieldlink/domain';
import { decodeJsonBody, encodeJsonBody } from '../codec/json-body.js';

/*
 * Flow 13: the Dataverse `RemoteExecutionContext` a service endpoint puts on the outbound queue,
 * in its JSON form (WCF DataContractJsonSerializer): collections are `[{key, value}]` lists,
 * typed values carry `__type` ("Entity:http://schemas.microsoft.com/xrm/2011/Contracts", …) and
 * dates are `/Date(ms)/`. This module turns it into plain typed values and back.
 */

const CONTRACTS = 'http://schemas.microsoft.com/xrm/2011/Contracts';
export const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

export interface DataverseDateTime {
  readonly kind: 'DateTime';
  /** Epoch ms (UTC). */
  readonly epochMs: number;
}
export interface DataverseOptionSetValue {
  readonly kind: 'OptionSetValue';
  readonly value: number;
}
export interface DataverseMoney {
  readonly kind: 'Money';
  readonly value: number;
}
export interface DataverseEntityReference {
  readonly kind: 'EntityReference';
  readonly logicalName: string;
  readonly id: string;
  readonly name?: string | null;
}
export interface DataverseEntity {
  readonly kind: 'Entity';
  readonly logicalName: string;
  readonly id: string;
  readonly attributes: Readonly<Record<string, DataverseValue>>;
  readonly formattedValues?: Readonly<Record<string, string>>;
  readonly keyAttributes?: Readonly<Record<string, DataverseValue>>;
  readonly entityState?: number | null;
  readonly rowVersion?: string | null;
}
export interface DataverseEntityCollection {
  readonly kind: 'EntityCollection';
  readonly entityName?: string | null;
  readonly entities: readonly DataverseEntity[];
}
/** A typed value this module does not model: carried along as it came. */
export interface DataverseUnknownValue {
  readonly kind: 'Unknown';
  readonly type: string;
  readonly raw: unknown;
}

export type DataverseValue =
  | string
  | number
  | boolean
  | null
  | readonly DataverseValue[]
  | DataverseDateTime
  | DataverseOptionSetValue
  | DataverseMoney
  | DataverseEntityReference
  | DataverseEntity
  | DataverseEntityCollection
  | DataverseUnknownValue;

export interface RemoteExecutionContext {
  readonly messageName: string;
  readonly primaryEntityName: string;
  readonly primaryEntityId: string;
  readonly secondaryEntityName?: string;
  readonly inputParameters: Readonly<Record<string, DataverseValue>>;
  readonly outputParameters: Readonly<Record<string, DataverseValue>>;
  readonly sharedVariables: Readonly<Record<string, DataverseValue>>;
  readonly preEntityImages: Readonly<Record<string, DataverseEntity>>;
  readonly postEntityImages: Readonly<Record<string, DataverseEntity>>;
  readonly businessUnitId?: string;
  readonly correlationId?: string;
  readonly initiatingUserId?: string;
  readonly userId?: string;
  readonly organizationId?: string;
  readonly organizationName?: string;
  readonly operationId?: string;
  readonly requestId?: string;
  /** Epoch ms. */
  readonly operationCreatedOn?: number;
  readonly depth?: number;
  readonly stage?: number;
  readonly mode?: number;
  readonly isolationMode?: number;
  readonly isExecutingOffline?: boolean;
  readonly isInTransaction?: boolean;
  readonly isOfflinePlayback?: boolean;
  readonly owningExtension?: DataverseEntityReference;
}

type Path = ReadonlyArray<string | number>;
type Json = Record<string, unknown>;

const DATE_PATTERN = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const typeName = (v: Json): string | undefined => (typeof v['__type'] === 'string' ? v['__type'].split(':')[0] : undefined);

/** Reads `/Date(1500000000000)/` (an offset suffix, if any, does not change the instant). */
export function parseDataverseDate(text: string): number | undefined {
  const m = DATE_PATTERN.exec(text);
  return m === null ? undefined : Number(m[1]);
}
export const formatDataverseDate = (epochMs: number): string => `/Date(${Math.trunc(epochMs)})/`;

/**
 * The deepest nesting of arrays and objects accepted. A real context nests about ten levels (an
 * entity's attributes holding references and collections of entities); reading one nested
 * thousands of levels deep would exhaust the stack.
 */
export const MAX_CONTEXT_NESTING = 64;

/** Whether arrays and objects nest deeper than `max` anywhere in `value`; walked without recursion. */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<readonly [unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const item of Array.isArray(v) ? v : Object.values(v)) stack.push([item, depth + 1]);
  }
  return false;
}

/** The longest name or id of the envelope (message, entity, organisation names; GUIDs) accepted. */
export const ENVELOPE_STRING_MAX = 256;

class Reader {
  readonly issues: ValidationIssue[] = [];

  fail(path: Path, message: string): undefined {
    this.issues.push(issue(path, message));
    return undefined;
  }

  string(source: Json, key: string, path: Path, required: boolean): string | undefined {
    const v = source[key];
    if (v === undefined || v === null) return required ? this.fail([...path, key], 'expected a string') : undefined;
    if (typeof v !== 'string') return this.fail([...path, key], 'expected a string');
    // Every string read here is a name or an id of the envelope; none comes near this.
    return v.length > ENVELOPE_STRING_MAX ? this.fail([...path, key], `expected at most ${ENVELOPE_STRING_MAX} characters`) : v;
  }

  number(source: Json, key: string, path: Path): number | undefined {
    const v = source[key];
    if (v === undefined || v === null) return undefined;
    return typeof v === 'number' && Number.isFinite(v) ? v : this.fail([...path, key], 'expected a number');
  }

  boolean(source: Json, key: string, path: Path): boolean | undefined {
    const v = source[key];
    if (v === undefined || v === null) return undefined;
    return typeof v === 'boolean' ? v : this.fail([...path, key], 'expected true or false');
  }

  date(source: Json, key: string, path: Path): number | undefined {
    const v = source[key];
    if (v === undefined || v === null) return undefined;
    const ms = typeof v === 'string' ? parseDataverseDate(v) : undefined;
    return ms ?? this.fail([...path, key], 'expected a date as /Date(milliseconds)/');
  }

  collection(source: Json, key: string, path: Path): Record<string, DataverseValue> {
    return this.pairs(source, key, path, (value, at) => this.value(value, at));
  }

  /** Entity images: the values are declared Entity, so DataContractJsonSerializer writes them without `__type`. */
  images(source: Json, key: string, path: Path): Record<string, DataverseEntity> {
    return this.pairs(source, key, path, (value, at) =>
      isObject(value) && (value['__type'] === undefined || typeName(value) === 'Entity') ? this.entity(value, at) : this.fail(at, 'expected an Entity'),
    );
  }

  /** A list of `{key, value}` as a record, each value read by `read` at its key's path. */
  private pairs<T>(source: Json, key: string, path: Path, read: (value: unknown, at: Path) => T | undefined): Record<string, T> {
    const out: Record<string, T> = {};
    const v = source[key];
    if (v === undefined || v === null) return out;
    if (!Array.isArray(v)) {
      this.fail([...path, key], 'expected a list of {key, value}');
      return out;
    }
    v.forEach((entry: unknown, i) => {
      if (!isObject(entry) || typeof entry['key'] !== 'string') {
        this.fail([...path, key, i], 'expected {key, value} with a string key');
        return;
      }
      const value = read(entry['value'], [...path, key, entry['key']]);
      if (value !== undefined) out[entry['key']] = value;
    });
    return out;
  }

  reference(v: Json, path: Path): DataverseEntityReference | undefined {
    const logicalName = this.string(v, 'LogicalName', path, true);
    const id = this.string(v, 'Id', path, true);
    if (logicalName === undefined || id === undefined) return undefined;
    const name = v['Name'];
    return { kind: 'EntityReference', logicalName, id, ...(name === undefined ? {} : { name: typeof name === 'string' ? name : null }) };
  }

  entity(v: Json, path: Path): DataverseEntity | undefined {
    const logicalName = this.string(v, 'LogicalName', path, true);
    const id = this.string(v, 'Id', path, false) ?? ZERO_GUID;
    const attributes = this.collection(v, 'Attributes', path);
    const formatted = this.collection(v, 'FormattedValues', path);
    const keyAttributes = this.collection(v, 'KeyAttributes', path);
    if (logicalName === undefined) return undefined;
    const formattedValues = Object.fromEntries(Object.entries(formatted).map(([k, f]) => [k, typeof f === 'string' ? f : JSON.stringify(f)]));
    return {
      kind: 'Entity',
      logicalName,
      id,
      attributes,
      ...(Object.keys(formattedValues).length === 0 ? {} : { formattedValues }),
      ...(Object.keys(keyAttributes).length === 0 ? {} : { keyAttributes }),
      ...(typeof v['EntityState'] === 'number' ? { entityState: v['EntityState'] } : {}),
      ...(typeof v['RowVersion'] === 'string' ? { rowVersion: v['RowVersion'] } : {}),
    };
  }

  value(v: unknown, path: Path): DataverseValue | undefined {
    if (v === null || typeof v === 'boolean') return v;
    if (typeof v === 'number') return Number.isFinite(v) ? v : this.fail(path, 'expected a finite number');
    if (typeof v === 'string') {
      const ms = parseDataverseDate(v);
      return ms === undefined ? v : { kind: 'DateTime', epochMs: ms };
    }
    if (Array.isArray(v)) {
      const items = v.map((item, i) => this.value(item, [...path, i]));
      return items.every((i) => i !== undefined) ? (items as DataverseValue[]) : undefined;
    }
    if (!isObject(v)) return this.fail(path, 'expected a JSON value');
    const type = typeName(v);
    switch (type) {
      case 'Entity':
        return this.entity(v, path);
      case 'EntityReference':
        return this.reference(v, path);
      case 'OptionSetValue':
      case 'Money': {
        const value = v['Value'];
        if (typeof value !== 'number' || !Number.isFinite(value)) return this.fail([...path, 'Value'], 'expected a number');
        return { kind: type, value };
      }
      case 'EntityCollection': {
        const entities = v['Entities'];
        if (!Array.isArray(entities)) return this.fail([...path, 'Entities'], 'expected a list of entities');
        const read = entities.map((e: unknown, i) =>
          isObject(e) ? this.entity(e, [...path, 'Entities', i]) : this.fail([...path, 'Entities', i], 'expected an Entity'),
        );
        if (read.some((e) => e === undefined)) return undefined;
        const entityName = v['EntityName'];
        return { kind: 'EntityCollection', entities: read as DataverseEntity[], ...(typeof entityName === 'string' ? { entityName } : {}) };
      }
      default:
        return { kind: 'Unknown', type: typeof v['__type'] === 'string' ? v['__type'] : '(none)', raw: v };
    }
  }
}

/** Reads a RemoteExecutionContext from its JSON text, bytes or parsed value; never throws. */
export function decodeRemoteExecutionContext(body: Uint8Array | string | object): Result<RemoteExecutionContext, ValidationIssue[]> {
  let json: unknown = body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const decoded = decodeJsonBody(body);
    if (!decoded.ok) return decoded;
    json = decoded.value;
  }
  if (!isObject(json)) return err([issue([], 'expected a RemoteExecutionContext object')]);
  // Refused before reading (past 64 levels; a real one nests about ten), rather than caught as a stack overflow while reading.
  if (nestedDeeperThan(json, MAX_CONTEXT_NESTING)) return err([issue([], 'nests values too deeply to be a RemoteExecutionContext')]);
  try {
    return readContext(json);
  } catch (e) {
    // Only a value nested past the stack's depth gets here; a context is a few levels deep.
    if (e instanceof RangeError) return err([issue([], 'nests values too deeply to be a RemoteExecutionContext')]);
    throw e;
  }
}

function readContext(json: Json): Result<RemoteExecutionContext, ValidationIssue[]> {
  const r = new Reader();
  const messageName = r.string(json, 'MessageName', [], true);
  const primaryEntityName = r.string(json, 'PrimaryEntityName', [], true);
  const primaryEntityId = r.string(json, 'PrimaryEntityId', [], false) ?? ZERO_GUID;
  const owning = json['OwningExtension'];
  const context: RemoteExecutionContext = {
    messageName: messageName ?? '',
    primaryEntityName: primaryEntityName ?? '',
    primaryEntityId,
    inputParameters: r.collection(json, 'InputParameters', []),
    outputParameters: r.collection(json, 'OutputParameters', []),
    sharedVariables: r.collection(json, 'SharedVariables', []),
    preEntityImages: r.images(json, 'PreEntityImages', []),
    postEntityImages: r.images(json, 'PostEntityImages', []),
    ...defined({
      secondaryEntityName: r.string(json, 'SecondaryEntityName', [], false),
      businessUnitId: r.string(json, 'BusinessUnitId', [], false),
      correlationId: r.string(json, 'CorrelationId', [], false),
      initiatingUserId: r.string(json, 'InitiatingUserId', [], false),
      userId: r.string(json, 'UserId', [], false),
      organizationId: r.string(json, 'OrganizationId', [], false),
      organizationName: r.string(json, 'OrganizationName', [], false),
      operationId: r.string(json, 'OperationId', [], false),
      requestId: r.string(json, 'RequestId', [], false),
      operationCreatedOn: r.date(json, 'OperationCreatedOn', []),
      depth: r.number(json, 'Depth', []),
      stage: r.number(json, 'Stage', []),
      mode: r.number(json, 'Mode', []),
      isolationMode: r.number(json, 'IsolationMode', []),
      isExecutingOffline: r.boolean(json, 'IsExecutingOffline', []),
      isInTransaction: r.boolean(json, 'IsInTransaction', []),
      isOfflinePlayback: r.boolean(json, 'IsOfflinePlayback', []),
      owningExtension: isObject(owning) ? r.reference(owning, ['OwningExtension']) : undefined,
    }),
  };
  return r.issues.length > 0 ? err(r.issues) : ok(context);
}

function defined<T extends object>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

// ---- encoding ----

const collectionJson = (values: Readonly<Record<string, DataverseValue>>): Array<{ key: string; value: unknown }> =>
  Object.entries(values).map(([key, value]) => ({ key, value: valueJson(value) }));

const referenceJson = (ref: DataverseEntityReference, typed: boolean): Json => ({
  ...(typed ? { __type: `EntityReference:${CONTRACTS}` } : {}),
  Id: ref.id,
  KeyAttributes: [],
  LogicalName: ref.logicalName,
  Name: ref.name ?? null,
  RowVersion: null,
});

const entityJson = (entity: DataverseEntity): Json => ({
  __type: `Entity:${CONTRACTS}`,
  Attributes: collectionJson(entity.attributes),
  EntityState: entity.entityState ?? null,
  FormattedValues: collectionJson(entity.formattedValues ?? {}),
  Id: entity.id,
  KeyAttributes: collectionJson(entity.keyAttributes ?? {}),
  LogicalName: entity.logicalName,
  RelatedEntities: [],
  RowVersion: entity.rowVersion ?? null,
});

function valueJson(value: DataverseValue): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(valueJson);
  const typed = value as Exclude<DataverseValue, string | number | boolean | null | readonly DataverseValue[]>;
  switch (typed.kind) {
    case 'DateTime':
      return formatDataverseDate(typed.epochMs);
    case 'OptionSetValue':
    case 'Money':
      return { __type: `${typed.kind}:${CONTRACTS}`, Value: typed.value };
    case 'EntityReference':
      return referenceJson(typed, true);
    case 'Entity':
      return entityJson(typed);
    case 'EntityCollection':
      return {
        __type: `EntityCollection:${CONTRACTS}`,
        Entities: typed.entities.map(entityJson),
        EntityName: typed.entityName ?? null,
        MoreRecords: false,
        TotalRecordCount: -1,
        TotalRecordCountLimitExceeded: false,
      };
    case 'Unknown':
      return typed.raw;
  }
}

/** The JSON object a service endpoint would write for this context (members in its order). */
export function toRemoteExecutionContextJson(ctx: RemoteExecutionContext): Json {
  const optional = (key: string, value: unknown): Json => (value === undefined ? {} : { [key]: value });
  return {
    ...optional('BusinessUnitId', ctx.businessUnitId),
    ...optional('CorrelationId', ctx.correlationId),
    ...optional('Depth', ctx.depth),
    ...optional('InitiatingUserId', ctx.initiatingUserId),
    InputParameters: collectionJson(ctx.inputParameters),
    ...optional('IsExecutingOffline', ctx.isExecutingOffline),
    ...optional('IsInTransaction', ctx.isInTransaction),
    ...optional('IsOfflinePlayback', ctx.isOfflinePlayback),
    ...optional('IsolationMode', ctx.isolationMode),
    MessageName: ctx.messageName,
    ...optional('Mode', ctx.mode),
    ...optional('OperationCreatedOn', ctx.operationCreatedOn === undefined ? undefined : formatDataverseDate(ctx.operationCreatedOn)),
    ...optional('OperationId', ctx.operationId),
    ...optional('OrganizationId', ctx.organizationId),
    ...optional('OrganizationName', ctx.organizationName),
    OutputParameters: collectionJson(ctx.outputParameters),
    ...optional('OwningExtension', ctx.owningExtension === undefined ? undefined : referenceJson(ctx.owningExtension, false)),
    PostEntityImages: collectionJson(ctx.postEntityImages),
    PreEntityImages: collectionJson(ctx.preEntityImages),
    PrimaryEntityId: ctx.primaryEntityId,
    PrimaryEntityName: ctx.primaryEntityName,
    ...optional('RequestId', ctx.requestId),
    ...optional('SecondaryEntityName', ctx.secondaryEntityName),
    SharedVariables: collectionJson(ctx.sharedVariables),
    ...optional('Stage', ctx.stage),
    ...optional('UserId', ctx.userId),
  };
}

/** The context as a queue message body (UTF-8 JSON, the service endpoint's JSON format). */
export const encodeRemoteExecutionContext = (ctx: RemoteExecutionContext): Uint8Array => encodeJsonBody(toRemoteExecutionContextJson(ctx));
