/**
 * Once per test run: a fresh PostgreSQL database with the migrations applied, one Temporal dev server
 * (search attributes registered, generous start timeout) and the workflow code bundled (a bundle takes
 * seconds of CPU; built per worker, the suite's thirty-odd workers spent minutes on it). Test files create their own tenants
 * and catalog ids, so they run in any order.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import pg from 'pg';
import { initOrm, migrate } from '../../src/db/orm.ts';
import { findTemporalCli, HOW_TO_GET_TEMPORAL_CLI, PROJECT_ROOT, startDevServer, type DevServer } from '../../src/dev/temporal-dev-server.ts';
import { WORKFLOWS_PATH } from '../../src/worker.ts';
import { TEST_RUN_VARIABLE, type TestRun } from './test-run.ts';

declare global {
  var __temporalDevServer: DevServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  const adminDatabaseUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const databaseName = `payment_engine_test_${Date.now()}_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminDatabaseUrl });
  await admin.connect();
  await admin.query(`create database ${databaseName}`);
  await admin.end();
  const url = new URL(adminDatabaseUrl);
  url.pathname = `/${databaseName}`;
  const databaseUrl = url.toString();

  const orm = await initOrm(databaseUrl, { poolMax: 2 });
  await migrate(orm);
  await orm.close();

  const binary = findTemporalCli();
  if (!binary) throw new Error(HOW_TO_GET_TEMPORAL_CLI);
  const server = await startDevServer(binary, {
    dbFile: join(PROJECT_ROOT, '.data', 'test-temporal', `${databaseName}.sqlite`),
    headless: true,
    startTimeoutMs: 90_000,
  });
  globalThis.__temporalDevServer = server;

  // next to the dev server's file, so that globalTeardown removes it with that file
  const workflowBundlePath = join(PROJECT_ROOT, '.data', 'test-temporal', `${databaseName}.workflow-bundle.js`);
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  writeFileSync(workflowBundlePath, code);

  const run: TestRun = { databaseUrl, adminDatabaseUrl, databaseName, temporalAddress: server.address, workflowBundlePath };
  process.env[TEST_RUN_VARIABLE] = JSON.stringify(run);
}
