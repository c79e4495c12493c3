/**
 * A prepay id that names another tenant's workflow (PostgreSQL reset or restored from a backup while
 * Temporal kept its histories: the sequence hands out an id whose `prepay-{id}` workflow already runs for
 * someone else). Every request through that id is refused by the workflow, never followed: nothing is
 * charged, bound, switched or canceled on the other tenant's prepay.
 */
import { startCardPrepay, updatePrepay } from '../../src/temporal/prepays.ts';
import { bindAppUpdate, cancelUpdate, setAutoRenewalUpdate, type PrepayInput } from '../../src/workflows/prepay.ts';
import { AppError } from '../../src/domain/errors.ts';
import { Client, Connection } from '@temporalio/client';
import { startStack, type TestStack } from '../helpers/stack.ts';
import { appInfo } from '../helpers/apps.ts';
import { addCard, createTenant, expectStatus } from '../helpers/tenants.ts';
import { testRun } from '../helpers/test-run.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';
import { gatewayKey } from '../helpers/installation.ts';
import { sqlOn } from '../helpers/db.ts';
import { createCluster, TEN_USD_A_CORE } from '../helpers/catalog.ts';

let stack: TestStack;
let stopWorker: () => Promise<void>;
let connection: Connection;
let temporal: Client;
beforeAll(async () => {
  stack = await startStack({ WORKFLOW_WAIT_SECONDS: '30' });
  stopWorker = await stack.startWorker();
  connection = await Connection.connect({ address: testRun().temporalAddress });
  temporal = new Client({ connection });
});
afterAll(async () => {
  await stopWorker?.();
  await connection?.close();
  await stack?.close();
});

const sql = sqlOn(() => stack.orm);

it("a request for another tenant's prepay workflow under a reused id is refused: nothing charged, bound, switched or canceled", async () => {
  const clusterId = await createCluster(stack, TEN_USD_A_CORE, 'identity-cluster');
  const owner = await createTenant(stack, 'owner');
  const ownerCard = await addCard(owner, 'tok_visa');
  const created = expectStatus(
    await owner.call('POST', `/v2alpha/teams/${owner.id}/cards/${ownerCard}`, { body: { team_id: owner.id, card_id: ownerCard, amount: '30', period: 3, auto_renewal: 1 } }),
    200,
  );
  const prePayId = created.body.pre_pay_id as number;

  // Another tenant's request arrives with the same id, as after a database reset.
  const other = await createTenant(stack, 'other');
  const otherCard = await addCard(other, 'tok_visa');
  const input: PrepayInput = { prePayId, tenantId: other.id, paymentType: 'USD', cardId: otherCard, period: 3, autoRenewal: true, amount: '30' };
  await expect(startCardPrepay(temporal, await installationOf(stack.orm), stack.config.TEMPORAL_TASK_QUEUE, input)).rejects.toMatchObject({
    type: 'conflict',
    field: 'pre_pay_id',
  });
  // the same tenant with other terms is refused too
  await expect(
    startCardPrepay(temporal, await installationOf(stack.orm), stack.config.TEMPORAL_TASK_QUEUE, { ...input, tenantId: owner.id, cardId: ownerCard, amount: '45' }),
  ).rejects.toBeInstanceOf(AppError);
  // a retry with the owner's own terms attaches and answers the payment
  expect(await startCardPrepay(temporal, await installationOf(stack.orm), stack.config.TEMPORAL_TASK_QUEUE, { ...input, tenantId: owner.id, cardId: ownerCard })).toMatchObject({
    status: 'paid',
    prePayId,
  });

  const app = {
    paymentType: 'USD',
    app: { appId: 'other-app', clusterId, chartName: 'nginx', cpuLimit: 1000, memLimit: 0, storageLimit: 0, iconUrl: '', projectName: '' },
    costUsd: '30',
  };
  await expect(updatePrepay(temporal, await installationOf(stack.orm), prePayId, bindAppUpdate, { ...app, tenantId: other.id })).rejects.toMatchObject({ type: 'conflict' });
  await expect(updatePrepay(temporal, await installationOf(stack.orm), prePayId, setAutoRenewalUpdate, { autoRenewal: false, tenantId: other.id })).rejects.toMatchObject({
    type: 'conflict',
  });
  await expect(updatePrepay(temporal, await installationOf(stack.orm), prePayId, cancelUpdate, { reason: 'not yours', tenantId: other.id })).rejects.toMatchObject({
    type: 'conflict',
  });

  // Over HTTP: the restored read model says the id is the other tenant's; its callback is refused by the workflow.
  await sql('update prepays set tenant_id = ? where id = ?', [other.id, prePayId]);
  const callback = await other.call('POST', '/v2alpha/USD/callback_app_info', {
    body: appInfo(prePayId, clusterId, { app_id: 'other-app', project_name: '' }),
  });
  expectStatus(callback, 409);
  expect(callback.body).toMatchObject({ error: { type: 'conflict', field: 'pre_pay_id' } });
  await sql('update prepays set tenant_id = ? where id = ?', [owner.id, prePayId]);

  const status = expectStatus(await owner.call('GET', `/v2alpha/teams/${owner.id}/prepays/${prePayId}`), 200).body;
  expect(status).toMatchObject({ status: 'awaiting_binding', app: null, auto_renewal: 1 });
  const charges = await sql<{ card_ref: string }>(`select card_ref from sandbox_charges where idempotency_key like ? and outcome = 'succeeded'`, [
    await gatewayKey(stack.orm, `prepay-${prePayId}-%`),
  ]);
  expect(charges).toHaveLength(1);
  const [otherRef] = await sql<{ gateway_ref: string }>('select gateway_ref from cards where id = ?', [otherCard]);
  expect(charges.map((row) => row.card_ref)).not.toContain(otherRef!.gateway_ref);
});
