import Database from 'better-sqlite3';
import { SYSTEM_COLUMNS, type ColumnType, type TableSchema } from './cfs-schema.js';
import { DataverseFault } from './dataverse-fault.js';
import type { FilterNode, Literal } from './odata-filter.js';

/** A record as the Web API shows it: lookups as `_name_value`, date-times as ISO text in whole seconds. */
export type WireRecord = Record<string, unknown>;

/** Column values to write: lookups by their logical name, holding the target id (or null). */
export type ColumnValues = Record<string, unknown>;

export interface OrderBy {
  readonly column: string;
  readonly descending: boolean;
}

export interface RecordQuery {
  readonly filter?: FilterNode;
  readonly orderBy?: readonly OrderBy[];
  readonly top?: number;
}

const quote = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;
const sqlColumnOf = (name: string, type: ColumnType): string => (type.kind === 'lookup' ? `_${name}_value` : name);

/** Dataverse keeps date-times to the second. */
export const wholeSeconds = (epochMs: number): number => Math.floor(epochMs / 1000) * 1000;
export const toWireDateTime = (epochMs: number): string => new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Where the service endpoint's posts wait until the queue takes them (not a Dataverse table). */
const OUTBOX_TABLE = 'fieldlink_service_endpoint_posts';

/**
 * The records, in SQLite through better-sqlite3: one SQL table per Dataverse table, a column per
 * attribute (text columns compare case-insensitively, as Dataverse does), a unique index per
 * alternate key, an index per lookup and per query index of the table (`queryIndexes`). Filters
 * are compiled to SQL with every literal bound as a parameter.
 */
export class RecordStore {
  private readonly db: Database.Database;
  private readonly bySet = new Map<string, TableSchema>();

  constructor(
    file: string,
    tables: readonly TableSchema[],
    private readonly now: () => number,
  ) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    for (const table of tables) {
      this.bySet.set(table.entitySet, table);
      const columns = Object.entries({ ...table.columns, ...SYSTEM_COLUMNS }).map(([name, type]) => `${quote(sqlColumnOf(name, type))} ${sqlTypeOf(type)}`);
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${quote(table.entitySet)} (${quote(table.primaryKey)} TEXT PRIMARY KEY COLLATE NOCASE, ${columns.join(', ')})`);
      // A database made before a solution was imported gets the solution's columns added.
      const present = new Set((this.db.prepare(`PRAGMA table_info(${quote(table.entitySet)})`).all() as { name: string }[]).map((c) => c.name));
      for (const [name, type] of Object.entries(table.columns)) {
        if (!present.has(sqlColumnOf(name, type)))
          this.db.exec(`ALTER TABLE ${quote(table.entitySet)} ADD COLUMN ${quote(sqlColumnOf(name, type))} ${sqlTypeOf(type)}`);
      }
      for (const [i, key] of table.alternateKeys.entries()) {
        const cols = key.map((k) => quote(sqlColumnOf(k, table.columns[k]!))).join(', ');
        this.db.exec(`CREATE UNIQUE INDEX IF NOT EXISTS ${quote(`${table.entitySet}_key_${i}`)} ON ${quote(table.entitySet)} (${cols})`);
      }
      for (const index of table.queryIndexes) {
        const cols = index.map((c) => quote(c === table.primaryKey ? c : sqlColumnOf(c, (table.columns[c] ?? SYSTEM_COLUMNS[c])!))).join(', ');
        this.db.exec(`CREATE INDEX IF NOT EXISTS ${quote(`${table.entitySet}_by_${index.join('_')}`)} ON ${quote(table.entitySet)} (${cols})`);
      }
      for (const [name, type] of Object.entries(table.columns)) {
        if (type.kind === 'lookup')
          this.db.exec(`CREATE INDEX IF NOT EXISTS ${quote(`${table.entitySet}_${name}`)} ON ${quote(table.entitySet)} (${quote(sqlColumnOf(name, type))})`);
      }
    }
    // The service endpoint's posts still to make, written in the transaction of the operation that caused them.
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${quote(OUTBOX_TABLE)} (seq INTEGER PRIMARY KEY AUTOINCREMENT, post TEXT NOT NULL)`);
    // One intersect table per many-to-many relationship, rows in either direction.
    for (const table of tables) {
      for (const rel of table.manyToMany) {
        this.db.exec(`CREATE TABLE IF NOT EXISTS ${quote(`nn_${rel.name}`)} (a TEXT COLLATE NOCASE, b TEXT COLLATE NOCASE, PRIMARY KEY (a, b))`);
      }
    }
  }

  /** Associates two records over a many-to-many relationship (idempotent, as Dataverse's `$ref` POST of an existing pair). */
  associate(relationship: string, from: string, to: string): void {
    const [a, b] = [from.toLowerCase(), to.toLowerCase()];
    this.db.prepare(`INSERT OR IGNORE INTO ${quote(`nn_${relationship}`)} (a, b) VALUES (?, ?)`).run(a, b);
    this.db.prepare(`INSERT OR IGNORE INTO ${quote(`nn_${relationship}`)} (a, b) VALUES (?, ?)`).run(b, a);
  }

  disassociate(relationship: string, from: string, to: string): void {
    const [a, b] = [from.toLowerCase(), to.toLowerCase()];
    this.db.prepare(`DELETE FROM ${quote(`nn_${relationship}`)} WHERE (a = ? AND b = ?) OR (a = ? AND b = ?)`).run(a, b, b, a);
  }

  /** The ids related to `from` over a many-to-many relationship. */
  related(relationship: string, from: string): string[] {
    return (this.db.prepare(`SELECT b FROM ${quote(`nn_${relationship}`)} WHERE a = ? ORDER BY rowid`).all(from.toLowerCase()) as { b: string }[]).map(
      (r) => r.b,
    );
  }

  close(): void {
    this.db.close();
  }

  tables(): TableSchema[] {
    return [...this.bySet.values()];
  }

  table(entitySet: string): TableSchema | undefined {
    return this.bySet.get(entitySet);
  }

  /**
   * Keeps posts the service endpoint is to make (JSON data), in the transaction running, as the
   * asynchronous service keeps an asynchronous step's system job with the operation that started
   * it; each with its id, in order.
   */
  keepPosts<T>(posts: readonly T[]): Array<{ readonly id: number; readonly post: T }> {
    if (posts.length === 0) return [];
    const insert = this.db.prepare(`INSERT INTO ${quote(OUTBOX_TABLE)} (post) VALUES (?)`);
    return posts.map((post) => ({ id: Number(insert.run(JSON.stringify(post)).lastInsertRowid), post }));
  }

  /** A kept post is made: it goes. */
  postMade(id: number): void {
    this.db.prepare(`DELETE FROM ${quote(OUTBOX_TABLE)} WHERE seq = ?`).run(id);
  }

  /** Posts kept and not made (an organisation stopped before the queue took them), oldest first, as kept. */
  keptPosts(): Array<{ readonly id: number; readonly post: unknown }> {
    return (this.db.prepare(`SELECT seq, post FROM ${quote(OUTBOX_TABLE)} ORDER BY seq`).all() as Array<{ seq: number; post: string }>).map((r) => ({
      id: r.seq,
      post: JSON.parse(r.post) as unknown,
    }));
  }

  /** Runs `work` atomically: a thrown fault rolls every write of it back. */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  get(table: TableSchema, id: string): WireRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM ${quote(table.entitySet)} WHERE ${quote(table.primaryKey)} = ?`).get(id.toLowerCase()) as
      Record<string, unknown> | undefined;
    return row === undefined ? undefined : this.toWire(table, row);
  }

  findByAlternateKey(table: TableSchema, values: ReadonlyMap<string, Literal>): WireRecord | undefined {
    const names = [...values.keys()].sort();
    const declared = table.alternateKeys.some((key) => key.length === names.length && [...key].sort().every((k, i) => k === names[i]));
    if (!declared) {
      throw new DataverseFault(400, '0x80060888', `The key specified ('${names.join(',')}') is not an alternate key of the entity '${table.logicalName}'.`);
    }
    const where = names.map((n) => `${quote(sqlColumnOf(n, table.columns[n]!))} = ?`).join(' AND ');
    const params = names.map((n) => this.literalFor(table, n, values.get(n)!));
    const row = this.db.prepare(`SELECT * FROM ${quote(table.entitySet)} WHERE ${where}`).get(...params) as Record<string, unknown> | undefined;
    return row === undefined ? undefined : this.toWire(table, row);
  }

  insert(table: TableSchema, id: string, values: ColumnValues): WireRecord {
    const now = toSqlValue({ kind: 'datetime' }, wholeSeconds(this.now()));
    const row: Record<string, unknown> = { [table.primaryKey]: id.toLowerCase(), createdon: now, modifiedon: now, versionnumber: 1 };
    for (const [name, value] of Object.entries(values)) row[sqlColumnOf(name, table.columns[name]!)] = toSqlValue(table.columns[name]!, value);
    const cols = Object.keys(row);
    try {
      this.db
        .prepare(`INSERT INTO ${quote(table.entitySet)} (${cols.map(quote).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`)
        .run(...cols.map((c) => row[c] as never));
    } catch (e) {
      throw this.constraintFault(table, e);
    }
    return this.get(table, id)!;
  }

  update(table: TableSchema, id: string, values: ColumnValues): WireRecord {
    const sets: string[] = ['"modifiedon" = ?', '"versionnumber" = "versionnumber" + 1'];
    const params: unknown[] = [toSqlValue({ kind: 'datetime' }, wholeSeconds(this.now()))];
    for (const [name, value] of Object.entries(values)) {
      sets.push(`${quote(sqlColumnOf(name, table.columns[name]!))} = ?`);
      params.push(toSqlValue(table.columns[name]!, value));
    }
    try {
      this.db
        .prepare(`UPDATE ${quote(table.entitySet)} SET ${sets.join(', ')} WHERE ${quote(table.primaryKey)} = ?`)
        .run(...(params as never[]), id.toLowerCase());
    } catch (e) {
      throw this.constraintFault(table, e);
    }
    return this.get(table, id)!;
  }

  delete(table: TableSchema, id: string): boolean {
    return this.db.prepare(`DELETE FROM ${quote(table.entitySet)} WHERE ${quote(table.primaryKey)} = ?`).run(id.toLowerCase()).changes > 0;
  }

  query(table: TableSchema, q: RecordQuery): WireRecord[] {
    const params: unknown[] = [];
    const where = q.filter === undefined ? '' : ` WHERE ${this.compile(table, q.filter, params)}`;
    const order = (q.orderBy ?? []).map((o) => `${quote(this.sqlColumn(table, o.column).name)} ${o.descending ? 'DESC' : 'ASC'}`);
    // Ties fall back to the order of insertion, in the direction of the last key.
    order.push(`rowid ${q.orderBy?.at(-1)?.descending === true ? 'DESC' : 'ASC'}`);
    const limit = q.top !== undefined ? ` LIMIT ${Math.max(0, Math.floor(q.top))}` : '';
    const rows = this.db.prepare(`SELECT * FROM ${quote(table.entitySet)}${where} ORDER BY ${order.join(', ')}${limit}`).all(...(params as never[])) as Record<
      string,
      unknown
    >[];
    return rows.map((r) => this.toWire(table, r));
  }

  count(table: TableSchema): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM ${quote(table.entitySet)}`).get() as { n: number }).n;
  }

  /** The column a `$filter`/`$orderby`/`$select` name refers to, or a 400 naming it. */
  sqlColumn(table: TableSchema, property: string): { name: string; type: ColumnType } {
    if (property === table.primaryKey) return { name: property, type: { kind: 'guid' } };
    const lookupMatch = /^_(.+)_value$/.exec(property);
    if (lookupMatch) {
      const type = table.columns[lookupMatch[1]!];
      if (type?.kind === 'lookup') return { name: property, type };
    }
    const type = table.columns[property] ?? SYSTEM_COLUMNS[property];
    if (type !== undefined && type.kind !== 'lookup') return { name: property, type };
    // The OData layer's answer, code 0x0 (seen in Dataverse answers quoted in
    // github.com/MicrosoftDocs/dynamics-365-customer-engagement/issues/678 and verbb/formie#1185).
    throw new DataverseFault(400, '0x0', `Could not find a property named '${property}' on type 'Microsoft.Dynamics.CRM.${table.logicalName}'.`);
  }

  private compile(table: TableSchema, node: FilterNode, params: unknown[]): string {
    switch (node.kind) {
      case 'and':
      case 'or':
        return `(${this.compile(table, node.left, params)} ${node.kind.toUpperCase()} ${this.compile(table, node.right, params)})`;
      case 'not':
        return `(NOT ${this.compile(table, node.operand, params)})`;
      case 'function': {
        const col = this.sqlColumn(table, node.property);
        if (col.type.kind !== 'string' || node.literal.kind !== 'string') {
          throw new DataverseFault(400, '0x80060888', `${node.fn} needs a text property and a string literal ('${node.property}').`);
        }
        const escaped = node.literal.value.replace(/[\\%_]/g, (c) => `\\${c}`);
        params.push(node.fn === 'contains' ? `%${escaped}%` : node.fn === 'startswith' ? `${escaped}%` : `%${escaped}`);
        return `(${quote(col.name)} LIKE ? ESCAPE '\\')`;
      }
      case 'compare': {
        const col = this.sqlColumn(table, node.property);
        if (node.literal.kind === 'null') {
          if (node.op === 'eq') return `(${quote(col.name)} IS NULL)`;
          if (node.op === 'ne') return `(${quote(col.name)} IS NOT NULL)`;
          throw new DataverseFault(400, '0x80060888', `null can only be compared with eq or ne ('${node.property}').`);
        }
        params.push(this.literalFor(table, node.property, node.literal));
        const sqlOp = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' }[node.op];
        // OData `ne` is true for null columns; SQL's <> is not.
        return node.op === 'ne' ? `(${quote(col.name)} IS NULL OR ${quote(col.name)} <> ?)` : `(${quote(col.name)} ${sqlOp} ?)`;
      }
    }
  }

  /** A literal as the SQL value of the property's column; a literal of the wrong type is a 400. */
  private literalFor(table: TableSchema, property: string, literal: Literal): unknown {
    const { type } = this.sqlColumn(table, property);
    const mismatch = (): never => {
      throw new DataverseFault(
        400,
        '0x80060888',
        `A binary operator with incompatible types was detected. Found operand types '${literal.kind}' for the property '${property}' (${type.kind}).`,
      );
    };
    switch (type.kind) {
      case 'string':
        return literal.kind === 'string' ? literal.value : mismatch();
      case 'int':
      case 'option':
      case 'double':
        return literal.kind === 'number' ? literal.value : mismatch();
      case 'guid':
        return literal.kind === 'guid' ? literal.value.toLowerCase() : mismatch();
      case 'bool':
        return literal.kind === 'bool' ? (literal.value ? 1 : 0) : mismatch();
      case 'datetime':
        return literal.kind === 'datetime' ? literal.value : mismatch();
      case 'lookup':
        return literal.kind === 'guid' ? literal.value : mismatch();
    }
  }

  private toWire(table: TableSchema, row: Record<string, unknown>): WireRecord {
    const out: WireRecord = { [table.primaryKey]: row[table.primaryKey] };
    for (const [name, type] of Object.entries({ ...table.columns, ...SYSTEM_COLUMNS })) {
      const col = sqlColumnOf(name, type);
      const value = row[col];
      out[col] =
        value === null || value === undefined ? null : type.kind === 'datetime' ? toWireDateTime(Number(value)) : type.kind === 'bool' ? value === 1 : value;
    }
    return out;
  }

  private constraintFault(table: TableSchema, e: unknown): unknown {
    const message = e instanceof Error ? e.message : String(e);
    if (/UNIQUE constraint failed/.test(message)) {
      return new DataverseFault(
        412,
        '0x80040237',
        `A record that has the attribute values ${message.replace(/^.*failed: /, '')} already exists on the entity '${table.logicalName}'.`,
      );
    }
    return e;
  }
}

function sqlTypeOf(type: ColumnType): string {
  switch (type.kind) {
    case 'string':
      return 'TEXT COLLATE NOCASE';
    case 'lookup':
    case 'guid':
      return 'TEXT COLLATE NOCASE';
    case 'double':
      return 'REAL';
    case 'datetime':
    case 'int':
    case 'option':
    case 'bool':
      return 'INTEGER';
  }
}

function toSqlValue(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case 'bool':
      return value === true ? 1 : 0;
    case 'lookup':
    case 'guid':
      return String(value).toLowerCase();
    default:
      return value;
  }
}
