import { RuleStateError, type RuleStateStorePort } from '@fieldlink/ports';
import type { SqliteFile } from './sqlite-file.js';
import { SqlAdapterError } from './sql-adapter-error.js';

const SCHEMA = `
create table if not exists rule_state (
  key text primary key,
  snapshot blob not null,
  version integer not null
);
`;

/** What a store knows of a key it read or wrote: the version, or that it was not there (0). */
type KnownVersion = number;

/**
 * RuleStateStorePort on a SQLite file: one row per key (a partition's checkpoints and journal
 * entries, rule state), the snapshot as UTF-8 JSON. Like the Blob store, a save is conditional on
 * the version this store last read or wrote under the key: a process that took the partition over
 * and saved since is not overwritten with older state (`RuleStateConflict`); a key this store
 * never read is written unconditionally.
 */
export class SqliteRuleStateStore implements RuleStateStorePort {
  private readonly known = new Map<string, KnownVersion>();
  private readonly statements;

  constructor(private readonly db: SqliteFile) {
    db.exec(SCHEMA);
    this.statements = {
      load: db.prepare('select snapshot, version from rule_state where key = ?'),
      insert: db.prepare('insert into rule_state (key, snapshot, version) values (?, ?, 1) on conflict (key) do nothing'),
      update: db.prepare('update rule_state set snapshot = ?, version = version + 1 where key = ? and version = ?'),
      upsert: db.prepare(
        'insert into rule_state (key, snapshot, version) values (?, ?, 1) on conflict (key) do update set snapshot = excluded.snapshot, version = rule_state.version + 1',
      ),
      version: db.prepare('select version from rule_state where key = ?'),
    };
  }

  async load(key: string): Promise<unknown> {
    const json = await this.loadJson(key);
    if (json === undefined) return undefined;
    try {
      return JSON.parse(json) as unknown;
    } catch (error) {
      throw new SqlAdapterError('UnreadableValue', `Rule state '${key}' is not JSON: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The stored text as it is, read as `load` reads it (its version is the one a save is then checked against). */
  async loadJson(key: string): Promise<string | undefined> {
    const row = this.statements.load.get(key) as { snapshot: Buffer; version: number } | undefined;
    this.known.set(key, row?.version ?? 0);
    return row?.snapshot.toString('utf8');
  }

  async save(key: string, snapshot: unknown): Promise<void> {
    const text = JSON.stringify(snapshot);
    if (text === undefined) throw new TypeError(`The rule state under "${key}" is not JSON data.`);
    return this.saveJson(key, text);
  }

  /** The JSON text as it is (what `save` stores for its parse), under the same condition. */
  async saveJson(key: string, json: string): Promise<void> {
    const body = Buffer.from(json, 'utf8');
    const s = this.statements;
    const known = this.known.get(key);
    const version = this.db
      .transaction((): number | undefined => {
        if (known === undefined) s.upsert.run(key, body);
        else if (known === 0) {
          if (s.insert.run(key, body).changes === 0) return undefined;
        } else if (s.update.run(body, key, known).changes === 0) return undefined;
        return (s.version.get(key) as { version: number }).version;
      })
      .immediate();
    if (version === undefined) throw RuleStateError.conflict(key);
    this.known.set(key, version);
  }
}
