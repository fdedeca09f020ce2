import { afterAll, beforeAll } from 'vitest';
import { openPostgresDatabase } from './sql-database.js';
import { startPostgresServer, type PostgresServer } from './testing/postgres-server.js';
import { sqlStoreSuite } from './testing/sql-store-suite.js';

// A real PostgreSQL server from the installed `postgresql` package, of this file's own: each store gets a new database on it.
let server: PostgresServer | undefined;
beforeAll(async () => {
  server = await startPostgresServer();
}, 120_000);
afterAll(async () => {
  await server?.stop();
}, 60_000);

sqlStoreSuite('PostgreSQL', async () => openPostgresDatabase({ connectionString: await server!.createDatabase() }));
