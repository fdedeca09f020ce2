import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { CFS_TABLES, stockTables } from './cfs-schema.js';
import { RecordStore } from './record-store.js';

const dir = mkdtempSync(join(tmpdir(), 'fieldlink-record-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** Each index of a table, as its columns in order. */
function indexesOf(file: string, table: string): string[][] {
  const db = new Database(file, { readonly: true });
  try {
    const list = db.pragma(`index_list("${table}")`) as Array<{ name: string }>;
    return list.map((i) => (db.pragma(`index_info("${i.name}")`) as Array<{ name: string }>).map((c) => c.name));
  } finally {
    db.close();
  }
}

describe('RecordStore', () => {
  it('keeps an index for the queries that run per alert, per command sweep and per console refresh, in a database made before them too', () => {
    const file = join(dir, `store-${++files}.db`);
    new RecordStore(file, CFS_TABLES, Date.now).close();
    // A database of an earlier version: the tables without the query indexes.
    const old = new Database(file);
    old.exec('drop index "msdyn_iotalerts_by_msdyn_deviceid_msdyn_alerttime"');
    old.close();
    new RecordStore(file, CFS_TABLES, Date.now).close();
    const alerts = indexesOf(file, 'msdyn_iotalerts');
    // A device's alerts since a time (the CFS plugin's parent alert), by token, the newest first.
    expect(alerts).toContainEqual(['msdyn_deviceid', 'msdyn_alerttime']);
    expect(alerts).toContainEqual(['msdyn_alerttoken']);
    expect(alerts).toContainEqual(['msdyn_alerttime', 'createdon']);
    // The commands in a status, oldest first (the orchestrator's sweep), and the newest first.
    expect(indexesOf(file, 'msdyn_iotdevicecommands')).toEqual(
      expect.arrayContaining([['msdyn_commandstatus', 'createdon', 'msdyn_iotdevicecommandid'], ['createdon']]),
    );
    expect(indexesOf(file, 'msdyn_iotdevices')).toContainEqual(['msdyn_deviceid']);
    expect(indexesOf(file, 'msdyn_customerassets')).toContainEqual(['msdyn_deviceid']);
    expect(indexesOf(file, 'msdyn_iotdevicedatahistory')).toContainEqual(['msdyn_iothubdeviceid']);
  });

  it("indexes the extension solution's command state only where the solution added it", () => {
    const stock = join(dir, `store-${++files}.db`);
    new RecordStore(stock, CFS_TABLES, Date.now).close();
    expect(indexesOf(stock, 'msdyn_iotdevicecommands').flat()).not.toContain('fl_commandstate');
    const extended = join(dir, `store-${++files}.db`);
    const tables = stockTables(undefined, { msdyn_iotdevicecommand: { fl_commandstate: { type: 'String', maxLength: 100 } } });
    new RecordStore(extended, tables, Date.now).close();
    expect(indexesOf(extended, 'msdyn_iotdevicecommands')).toContainEqual(['fl_commandstate', 'createdon', 'msdyn_iotdevicecommandid']);
  });
});
