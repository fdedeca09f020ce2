import { readFileSync } from 'node:fs';

/**
 * The tables the emulator serves, generated from Microsoft's published table references as
 * transcribed in `schema/dataverse-stock-schema.json` (each table there carries its source URLs):
 * entity set names, columns with their Dataverse types, maximum lengths, option values,
 * requirement levels, and the single-valued navigation property names (case-sensitive) under
 * which a lookup is bound with `@odata.bind`. Nothing is hand-written here except what the
 * transcription does not cover: the annotation table (a platform table, see below) and the
 * many-to-many relationships the schema names.
 */
export type ColumnType =
  | { readonly kind: 'string'; readonly maxLength: number }
  | { readonly kind: 'int' }
  /** An option set (choice), state or status: an integer on the wire, one of `values`. */
  | { readonly kind: 'option'; readonly values: readonly number[] }
  | { readonly kind: 'bool' }
  | { readonly kind: 'datetime' }
  | { readonly kind: 'double' }
  | { readonly kind: 'guid' }
  /**
   * A lookup, read as `_name_value`. `navigations` maps each single-valued navigation property
   * it is bound by (`msdyn_Device`, or `objectid_msdyn_iotalert` for a polymorphic one) to the
   * entity set it points to; a target the emulator does not serve (systemuser, account) has no
   * entry, so binding it is refused.
   */
  | { readonly kind: 'lookup'; readonly targets: readonly string[]; readonly navigations: Readonly<Record<string, string>> };

export type RequiredLevel = 'None' | 'Recommended' | 'ApplicationRequired' | 'SystemRequired';

export interface ColumnDefinition {
  readonly type: ColumnType;
  readonly requiredLevel: RequiredLevel;
  /** Set by the platform (createdby, owningbusinessunit): readable, never written by a client. */
  readonly readOnly: boolean;
  /** Where the column comes from: the stock organisation, or the Fieldlink extension solution. */
  readonly origin: 'stock' | 'extension';
}

/** A many-to-many relationship: its schema name is the collection-valued navigation property on both sides. */
export interface ManyToMany {
  readonly name: string;
  /** The entity set on the other side. */
  readonly target: string;
}

export interface TableSchema {
  readonly entitySet: string;
  readonly logicalName: string;
  readonly primaryKey: string;
  readonly primaryName?: string;
  readonly columns: Readonly<Record<string, ColumnType>>;
  readonly definitions: Readonly<Record<string, ColumnDefinition>>;
  /** None in a stock organisation with CFS: the references list no alternate key on these tables. */
  readonly alternateKeys: readonly (readonly string[])[];
  /**
   * Indexes the emulator keeps for the queries that run per alert, per command sweep and per
   * console refresh (columns, in order; the primary key may end one). Not part of Dataverse's
   * schema: Dataverse indexes its tables itself, and without them each of those queries read the
   * whole table (docs/performance.md, "Twenty-fourth round").
   */
  readonly queryIndexes: readonly (readonly string[])[];
  readonly manyToMany: readonly ManyToMany[];
}

interface StockColumn {
  readonly type: string;
  readonly maxLength?: number;
  readonly options?: Readonly<Record<string, string>>;
  readonly requiredLevel?: string;
  readonly readOnly?: boolean;
  readonly target?: string;
  readonly targets?: readonly string[];
  readonly note?: string;
}

interface StockTable {
  readonly entitySet: string;
  readonly logicalName: string;
  readonly primaryKey: string;
  readonly primaryName?: string;
  readonly columns: Readonly<Record<string, StockColumn>>;
  readonly lookups?: Readonly<Record<string, { readonly navigation: string | null; readonly target: string }>>;
}

export interface StockSchemaDocument {
  readonly source_note: string;
  readonly tables: Readonly<Record<string, StockTable>>;
}

/** The transcription of Microsoft's table references, as shipped in this package. */
export const STOCK_SCHEMA: StockSchemaDocument = JSON.parse(
  readFileSync(new URL('../schema/dataverse-stock-schema.json', import.meta.url), 'utf8'),
) as StockSchemaDocument;

/** Columns the emulator keeps itself on every table (read-only for clients). */
export const SYSTEM_COLUMNS: Readonly<Record<string, ColumnType>> = {
  createdon: { kind: 'datetime' },
  modifiedon: { kind: 'datetime' },
  versionnumber: { kind: 'int' },
};

/**
 * Many-to-many relationships the schema names (`manyToMany` of msdyn_customerasset,
 * msdyn_iotdevicecategory, msdyn_iotdevicecommanddefinition). The relationship's schema name is
 * its navigation property on both tables.
 */
const MANY_TO_MANY: ReadonlyArray<{ readonly name: string; readonly a: string; readonly b: string }> = [
  { name: 'msdyn_incident_msdyn_customerasset', a: 'incident', b: 'msdyn_customerasset' },
  { name: 'msdyn_iotdevicecategorycommands', a: 'msdyn_iotdevicecategory', b: 'msdyn_iotdevicecommanddefinition' },
  { name: 'msdyn_iotdevicecommandparameters', a: 'msdyn_iotdevicecommanddefinition', b: 'msdyn_iotpropertydefinition' },
];

/**
 * The note (annotation) is a platform table, not part of CFS, and the transcription lists only
 * its `objectid` navigation pattern; these columns follow the annotation table reference
 * (https://learn.microsoft.com/en-us/power-apps/developer/data-platform/reference/entities/annotation).
 */
const ANNOTATION_COLUMNS: Readonly<Record<string, StockColumn>> = {
  subject: { type: 'String', maxLength: 500 },
  notetext: { type: 'Memo', maxLength: 100_000 },
  objecttypecode: { type: 'EntityName' },
  objectid: { type: 'Lookup (polymorphic)' },
  isdocument: { type: 'Boolean' },
  filename: { type: 'String', maxLength: 255 },
  mimetype: { type: 'String', maxLength: 256 },
};

/** Tables whose notes (`objectid_<table>`) the emulator serves. */
const ANNOTATION_PARENTS = ['msdyn_iotalert', 'msdyn_iotdevice', 'msdyn_iotdevicecommand', 'incident', 'msdyn_customerasset', 'msdyn_workorder'];

const SYSTEM_COLUMN_NAMES = new Set(Object.keys(SYSTEM_COLUMNS));

/**
 * The emulator's query indexes (`TableSchema.queryIndexes`), by logical table name; one whose
 * columns a table lacks (an extension's column without the extension) is left out.
 * - msdyn_iotalert: the alerts of a device since a time (the CFS plugin's parent lookup, Fieldlink's
 *   `findRecentIoTAlerts`), by token (`findIoTAlertsByToken`), the newest first (the console).
 * - msdyn_iotdevicecommand: the commands in a state, oldest first (the orchestrator's sweep, on the
 *   stock status or the extension's state), the newest first (the console).
 * - the device and asset lookups by device id, and a device's data pulls.
 */
const QUERY_INDEXES: Readonly<Record<string, readonly (readonly string[])[]>> = {
  msdyn_iotalert: [['msdyn_deviceid', 'msdyn_alerttime'], ['msdyn_alerttoken'], ['msdyn_alerttime', 'createdon']],
  msdyn_iotdevicecommand: [
    ['msdyn_commandstatus', 'createdon', 'msdyn_iotdevicecommandid'],
    ['fl_commandstate', 'createdon', 'msdyn_iotdevicecommandid'],
    ['createdon'],
  ],
  msdyn_iotdevice: [['msdyn_deviceid']],
  msdyn_customerasset: [['msdyn_deviceid']],
  msdyn_iotdevicedatahistory: [['msdyn_iothubdeviceid']],
};

/**
 * The tables of a stock organisation with CFS installed, from the transcription: every table,
 * every column whose type it gives. Extra columns (the optional extension solution) come in
 * through `extraColumns`, keyed by logical table name.
 */
export function stockTables(
  document: StockSchemaDocument = STOCK_SCHEMA,
  extraColumns: Readonly<Record<string, Readonly<Record<string, StockColumn>>>> = {},
): TableSchema[] {
  const setOf = new Map(Object.values(document.tables).map((t) => [t.logicalName, t.entitySet]));
  const tables: TableSchema[] = [];
  for (const table of Object.values(document.tables)) {
    const source: Record<string, StockColumn> = table.logicalName === 'annotation' ? { ...ANNOTATION_COLUMNS } : { ...table.columns };
    const columns: Record<string, ColumnType> = {};
    const definitions: Record<string, ColumnDefinition> = {};
    const add = (name: string, column: StockColumn, origin: 'stock' | 'extension'): void => {
      if (name === table.primaryKey || SYSTEM_COLUMN_NAMES.has(name)) return;
      // Lookup name attributes of the old SDK-style pages are not Web API properties.
      if (column.note?.includes('not a Web API property') === true) return;
      const type = columnType(table, name, column, setOf);
      if (type === undefined) return;
      columns[name] = type;
      definitions[name] = { type, requiredLevel: requiredLevelOf(column.requiredLevel), readOnly: column.readOnly === true, origin };
    };
    for (const [name, column] of Object.entries(source)) add(name, column, 'stock');
    for (const [name, column] of Object.entries(extraColumns[table.logicalName] ?? {})) add(name, column, 'extension');
    const manyToMany = MANY_TO_MANY.flatMap((r) =>
      r.a === table.logicalName ? [{ name: r.name, target: setOf.get(r.b)! }] : r.b === table.logicalName ? [{ name: r.name, target: setOf.get(r.a)! }] : [],
    );
    tables.push({
      entitySet: table.entitySet,
      logicalName: table.logicalName,
      primaryKey: table.primaryKey,
      ...(table.primaryName !== undefined ? { primaryName: table.primaryName } : {}),
      columns,
      definitions,
      alternateKeys: [],
      queryIndexes: (QUERY_INDEXES[table.logicalName] ?? []).filter((index) =>
        index.every((c) => c in columns || SYSTEM_COLUMN_NAMES.has(c) || c === table.primaryKey),
      ),
      manyToMany,
    });
  }
  return tables;
}

function requiredLevelOf(level: string | undefined): RequiredLevel {
  return level === 'SystemRequired' || level === 'ApplicationRequired' || level === 'Recommended' ? level : 'None';
}

function columnType(table: StockTable, name: string, column: StockColumn, setOf: ReadonlyMap<string, string>): ColumnType | undefined {
  switch (column.type) {
    case 'String':
    case 'Memo':
      return { kind: 'string', maxLength: column.maxLength ?? 4000 };
    case 'EntityName':
      return { kind: 'string', maxLength: 100 };
    case 'Integer':
    case 'BigInt':
      return { kind: 'int' };
    case 'Picklist':
    case 'State':
    case 'Status':
      return { kind: 'option', values: Object.keys(column.options ?? {}).map(Number) };
    case 'Boolean':
      return { kind: 'bool' };
    case 'DateTime':
      return { kind: 'datetime' };
    case 'Double':
      return { kind: 'double' };
    case 'Uniqueidentifier':
      return { kind: 'guid' };
    case 'Lookup':
    case 'Owner':
    case 'Customer': {
      const declared = table.lookups?.[name];
      const targets = column.targets ?? (column.target !== undefined ? [column.target] : declared !== undefined ? [declared.target] : []);
      const navigations: Record<string, string> = {};
      if (column.type === 'Customer') {
        // A customer lookup is bound per target: customerid_account, customerid_contact.
        for (const t of targets) if (setOf.has(t)) navigations[`${name}_${t}`] = setOf.get(t)!;
      } else {
        // A navigation name the references do not give is taken as the logical name (noted in the README).
        const nav = declared?.navigation ?? name;
        const target = targets.length === 1 ? setOf.get(targets[0]!) : undefined;
        if (target !== undefined && column.readOnly !== true) navigations[nav] = target;
      }
      return { kind: 'lookup', targets: targets.flatMap((t) => (setOf.has(t) ? [setOf.get(t)!] : [])), navigations };
    }
    case 'Lookup (polymorphic)': {
      const navigations: Record<string, string> = {};
      for (const parent of ANNOTATION_PARENTS) if (setOf.has(parent)) navigations[`${name}_${parent}`] = setOf.get(parent)!;
      return { kind: 'lookup', targets: Object.values(navigations), navigations };
    }
    default:
      // 'see source': the transcription lists the column without its type; not served.
      return undefined;
  }
}

/** The stock tables (the default organisation: CFS installed and nothing more). */
export const CFS_TABLES: readonly TableSchema[] = stockTables();
