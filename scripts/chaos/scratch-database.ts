/**
 * A database of a run's own on the local PostgreSQL, for the commands that start an engine of their own
 * (`npm run fuzz`, `npm run bench`): created empty, prepared as `npm start` prepares one (the migrations,
 * the demo catalog and tenant, a tenant key), dropped at the end; and whether their worker polls yet.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Connection } from '@temporalio/client';
import { initOrm, migrate } from '../../src/db/orm.ts';
import { issueApiKey } from '../../src/db/repositories/api-keys.ts';
import { DEMO, seedDemoCatalog } from '../../src/db/seed.ts';

export interface ScratchDatabase {
  url: string;
  name: string;
  drop: () => Promise<void>;
}

/** Creates `payment_engine_<purpose>_<random>` through `adminUrl` (a database the admin may create databases from). */
export async function createScratchDatabase(purpose: string, adminUrl: string): Promise<ScratchDatabase> {
  const name = `payment_engine_${purpose}_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => admin(`drop database if exists ${name} with (force)`) };
}

/** What `npm start` prepares: the migrations, the demo catalog and tenant; answers a new key of the demo tenant. */
export async function seedDemo(databaseUrl: string): Promise<string> {
  const orm = await initOrm(databaseUrl, { poolMax: 2 });
  try {
    await migrate(orm);
    await seedDemoCatalog(orm.em.fork(), new Date());
    return (await issueApiKey(orm.em.fork(), 'tenant', DEMO.tenantId)).apiKey;
  } finally {
    await orm.close();
  }
}

/** True once a worker polls the task queue for workflow tasks. */
export async function workerPolls(address: string, taskQueue: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: '2s' });
  try {
    const answer = await connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: 1 });
    return (answer.pollers ?? []).length > 0;
  } finally {
    await connection.close();
  }
}
