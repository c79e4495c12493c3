/**
 * The installation (decision 0090): a second database beside the same Temporal namespace (a reset, or
 * `npm start` on a fresh DATABASE_URL beside a kept dev-server file) hands out the same prepay ids as the
 * first, and its prepays run in workflows of their own; processes refuse a namespace that runs another
 * installation's money workflows, and a database restored behind Temporal's state.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { initOrm, migrate, type Orm } from '../../src/db/orm.ts';
import { claimInstallation, installationOf, lastPrepayId } from '../../src/db/repositories/installation.ts';
import { prepayWorkflowId } from '../../src/domain/prepay.ts';
import { checkNamespace, NamespaceCheckError } from '../../src/temporal/namespace-check.ts';
import { installationSearchAttribute } from '../../src/temporal/search-attributes.ts';
import { startStack, type TestStack } from '../helpers/stack.ts';
import { appInfo } from '../helpers/apps.ts';
import { addCard, createTenant, expectStatus } from '../helpers/tenants.ts';
import { testRun } from '../helpers/test-run.ts';
import { sql } from '../helpers/db.ts';
import { createCluster, TEN_USD_A_CORE } from '../helpers/catalog.ts';

let first: TestStack;
let second: TestStack | undefined;
let temporal: { connection: Connection; client: Client };
let stopFirstWorker: () => Promise<void>;
const databases: string[] = [];
const leftRunning: string[] = [];

/** A new, migrated database on the run's PostgreSQL, as after a reset. */
async function freshDatabase(options: { upTo?: string } = {}): Promise<{ url: string; orm: Orm }> {
  const run = testRun();
  const name = `${run.databaseName}_inst_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: run.adminDatabaseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  databases.push(name);
  const url = new URL(run.adminDatabaseUrl);
  url.pathname = `/${name}`;
  const orm = await initOrm(url.toString(), { poolMax: 2 });
  if (options.upTo) await orm.migrator.up({ to: options.upTo });
  else await migrate(orm);
  return { url: url.toString(), orm };
}

beforeAll(async () => {
  first = await startStack({ WORKFLOW_WAIT_SECONDS: '30' });
  stopFirstWorker = await first.startWorker();
  const connection = await Connection.connect({ address: first.config.TEMPORAL_ADDRESS });
  temporal = { connection, client: new Client({ connection }) };
});

afterAll(async () => {
  for (const workflowId of leftRunning)
    await temporal.client.workflow
      .getHandle(workflowId)
      .terminate('test over')
      .catch(() => undefined);
  await stopFirstWorker?.();
  await second?.close();
  await first?.close();
  await temporal?.connection.close();
  const admin = new pg.Client({ connectionString: testRun().adminDatabaseUrl });
  await admin.connect();
  for (const name of databases) await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
});

async function cardPrepay(stack: TestStack, label: string, clusterId: string) {
  const tenant = await createTenant(stack, label);
  const card = await addCard(tenant, 'tok_visa');
  const created = expectStatus(
    await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${card}`, { body: { team_id: tenant.id, card_id: card, amount: '30', period: 3, auto_renewal: 1 } }),
    200,
  );
  const prePayId = created.body.pre_pay_id as number;
  const app = appInfo(prePayId, clusterId, { app_id: `${label}-app`, project_name: label });
  expect(expectStatus(await tenant.call('POST', '/v2alpha/USD/callback_app_info', { body: app }), 200).body).toEqual({ code: 0, message: 'success' });
  return { tenant, prePayId };
}

describe('two databases beside one Temporal namespace', () => {
  it('hand out the same prepay id, and each prepay runs in its own installation’s workflow, charged under its own key', async () => {
    const own = await installationOf(first.orm);
    expect(own.legacy).toBe(false);
    const { tenant: owner, prePayId } = await cardPrepay(first, 'owner', await createCluster(first, TEN_USD_A_CORE, 'installation-cluster'));
    const ownerWorkflow = prepayWorkflowId(own, prePayId);
    expect(ownerWorkflow).toBe(`prepay-${own.id}-${prePayId}`);
    leftRunning.push(ownerWorkflow);
    const described = await temporal.client.workflow.getHandle(ownerWorkflow).describe();
    expect(described.typedSearchAttributes.get(installationSearchAttribute)).toBe(own.id);
    // the card gateway saw the installation's key, not the bare business key another installation would also send
    const charges = await sql<{ idempotency_key: string }>(first.orm, 'select idempotency_key from sandbox_charges where idempotency_key like ?', [`%prepay-${prePayId}-cycle-1`]);
    expect(charges.map((row) => row.idempotency_key)).toEqual([`${own.id}:prepay-${prePayId}-cycle-1`]);

    // The reset database: fresh, its sequence where the first one's was, the same Temporal namespace.
    const reset = await freshDatabase();
    await sql(reset.orm, `select setval('prepay_ids', ?, false)`, [prePayId]);
    await reset.orm.close();
    // Its processes refuse the namespace: the first database's prepay runs there.
    const probe = await initOrm(reset.url, { poolMax: 1 });
    try {
      const installation = await claimInstallation(probe);
      expect(installation.id).not.toBe(own.id);
      await expect(checkNamespace(temporal.client, { installation, lastPrepayId: await lastPrepayId(probe), allowForeign: false })).rejects.toThrow(
        /runs \d+ money workflow\(s\) of another installation/,
      );
    } finally {
      await probe.close();
    }
    await expect(startStack({ DATABASE_URL: reset.url })).rejects.toBeInstanceOf(NamespaceCheckError);

    // Told that the namespace is shared on purpose, it starts; the same id is another workflow, not the owner's.
    second = await startStack({ DATABASE_URL: reset.url, ENGINE_ALLOW_FOREIGN_WORKFLOWS: 'true', WORKFLOW_WAIT_SECONDS: '30' });
    const theirs = await installationOf(second.orm);
    const stopSecondWorker = await second.startWorker();
    try {
      const { prePayId: otherId } = await cardPrepay(second, 'other', await createCluster(second, TEN_USD_A_CORE, 'installation-cluster'));
      expect(otherId).toBe(prePayId);
      leftRunning.push(prepayWorkflowId(theirs, otherId));
      expect(prepayWorkflowId(theirs, otherId)).not.toBe(ownerWorkflow);
    } finally {
      await stopSecondWorker();
    }
    // The owner's prepay is untouched: still its tenant's, bound to its own app.
    const ownerView = expectStatus(await owner.call('GET', `/v2alpha/teams/${owner.id}/prepays/${prePayId}`), 200).body;
    expect(ownerView).toMatchObject({ pre_pay_id: prePayId, status: 'active' });
    const view = await temporal.client.workflow.getHandle(ownerWorkflow).query<{ tenantId: string; app: { appId: string } | null }>('status');
    expect(view.app?.appId).toBe('owner-app');
  });

  it('refuses a database restored behind Temporal: its next prepay ids are taken', async () => {
    const own = await installationOf(first.orm);
    const last = await lastPrepayId(first.orm);
    expect(last).toBeGreaterThan(0);
    await expect(checkNamespace(temporal.client, { installation: own, lastPrepayId: last, allowForeign: true })).resolves.toMatchObject({ foreignRunning: expect.any(Number) });
    // as if the sequence came back from an older backup
    await expect(checkNamespace(temporal.client, { installation: own, lastPrepayId: last - 1, allowForeign: true })).rejects.toThrow(/restored from a backup older than Temporal/);
  });
});

describe('naming the installation', () => {
  it('is done once: a later ENGINE_INSTANCE_ID that differs is refused, an invalid one too', async () => {
    const { orm } = await freshDatabase();
    try {
      const named = await claimInstallation(orm, 'staging1');
      expect(named).toEqual({ id: 'staging1', legacy: false });
      await expect(claimInstallation(orm)).resolves.toEqual(named);
      await expect(claimInstallation(orm, 'prod')).rejects.toThrow(/belongs to installation staging1/);
      await expect(claimInstallation(orm, 'Prod_1')).rejects.toThrow(/ENGINE_INSTANCE_ID must be/);
      // concurrent first starts agree on one name
      const { orm: other } = await freshDatabase();
      try {
        const names = await Promise.all([claimInstallation(other), claimInstallation(other), claimInstallation(other)]);
        expect(new Set(names.map((installation) => installation.id)).size).toBe(1);
      } finally {
        await other.close();
      }
    } finally {
      await orm.close();
    }
  });

  it('keeps the unscoped ids of a database that held money before installations existed', async () => {
    const { orm } = await freshDatabase({ upTo: '0013-transfer-block-time' });
    try {
      await sql(orm, `insert into tenants (id) values ('legacy-team')`);
      await sql(
        orm,
        `insert into ledger_transactions (id, idempotency_key, tenant_id, kind, description) values (gen_random_uuid(), 'movement-legacy', 'legacy-team', 'recharge', 'before 0014')`,
      );
      await migrate(orm);
      const installation = await claimInstallation(orm);
      expect(installation.legacy).toBe(true);
      expect(prepayWorkflowId(installation, 7)).toBe('prepay-7');
    } finally {
      await orm.close();
    }
  });
});
