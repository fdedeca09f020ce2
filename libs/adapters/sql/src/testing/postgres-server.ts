import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** A PostgreSQL server of this process's own: a fresh cluster in a temp directory, on loopback. */
export interface PostgresServer {
  readonly port: number;
  /** A connection string to a new, empty database on the server. */
  createDatabase(): Promise<string>;
  /** Stops this server (its own data directory, nothing else) and removes the directory. */
  stop(): Promise<void>;
}

/** The directory of Debian's `postgresql` package binaries (`initdb`, `pg_ctl`), or those on the PATH. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  }
  return '';
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

/**
 * Starts a PostgreSQL server from the installed `postgresql` package (Debian: `apt-get install
 * postgresql`): `initdb` in a new temp directory, then `pg_ctl start` bound to 127.0.0.1 on a free
 * port, with trust authentication for loopback. PostgreSQL refuses to run as root, so as root the
 * tools run as the unprivileged user `nobody` (through `runuser`).
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const tool = (name: string) => (bin === '' ? name : join(bin, name));
  if (
    bin === '' &&
    !(await run('sh', ['-c', 'command -v pg_ctl']).then(
      () => true,
      () => false,
    ))
  ) {
    throw new Error('PostgreSQL is not installed: install the Debian package `postgresql` (initdb and pg_ctl are needed).');
  }
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'fieldlink-pg-'));
  const data = join(dir, 'data');
  let user = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'nobody']);
    const { stdout: gid } = await run('id', ['-g', 'nobody']);
    user = { uid: Number(stdout.trim()), gid: Number(gid.trim()) };
    chownSync(dir, user.uid, user.gid);
  }
  const as = (command: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'nobody', '--', command, ...args], { cwd: dir }) : run(command, args, { cwd: dir });
  const port = await freePort();
  try {
    await as(tool('initdb'), ['-D', data, '-U', 'fieldlink', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    // No Unix socket of its own outside the directory; fsync off: a test server, thrown away after.
    const options = `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    await as(tool('pg_ctl'), ['start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', options]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL could not be started in ${dir}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  let databases = 0;
  const admin = `postgres://fieldlink@127.0.0.1:${port}/postgres`;
  return {
    port,
    async createDatabase() {
      const name = `fieldlink_${++databases}`;
      const client = new pg.Client({ connectionString: admin });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://fieldlink@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      try {
        await as(tool('pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
