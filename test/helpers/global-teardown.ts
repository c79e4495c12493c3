import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { PROJECT_ROOT } from '../../src/dev/temporal-dev-server.ts';
import { testRun } from './test-run.ts';

/**
 * Stops the dev server and drops the run's database, so that no process or database is left behind.
 * `KEEP_TEST_DATABASE=1` keeps the database (and says its name) for looking at what a run wrote.
 */
export default async function globalTeardown(): Promise<void> {
  const run = testRun();
  await globalThis.__temporalDevServer?.stop();
  if (process.env.KEEP_TEST_DATABASE === '1') {
    process.stdout.write(`KEEP_TEST_DATABASE=1: the run's database ${run.databaseName} is kept\n`);
    return;
  }
  const admin = new pg.Client({ connectionString: run.adminDatabaseUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${run.databaseName} with (force)`);
  await admin.end();
  const folder = join(PROJECT_ROOT, '.data', 'test-temporal');
  for (const file of readdirSync(folder)) {
    if (file.startsWith(run.databaseName)) rmSync(join(folder, file), { force: true });
  }
}
