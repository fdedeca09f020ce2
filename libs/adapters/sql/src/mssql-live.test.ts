import { sql } from 'kysely';
import { describe } from 'vitest';
import { openMssqlDatabase } from './sql-database.js';
import { sqlStoreSuite } from './testing/sql-store-suite.js';

/**
 * The same suite on Azure SQL / SQL Server, through tedious, when a database is given:
 * FIELDLINK_LIVE_MSSQL_CONNECTION_STRING, an ADO.NET connection string of an empty database kept
 * for tests (the suite empties the Fieldlink tables before each store). Unset, it is reported as
 * skipped (not passed).
 */
const connectionString = process.env['FIELDLINK_LIVE_MSSQL_CONNECTION_STRING'];

describe.skipIf(!connectionString)('Azure SQL / SQL Server (SKIPPED unless FIELDLINK_LIVE_MSSQL_CONNECTION_STRING is set)', () => {
  sqlStoreSuite('Azure SQL / SQL Server', async () => {
    const database = await openMssqlDatabase({ connectionString: connectionString! });
    for (const table of ['crmiotevents', 'minuteaggregates', 'devicehealth', 'alerthistory', 'rejectedtelemetry'])
      await sql`delete from ${sql.table(table)}`.execute(database.db);
    return database;
  });
});
