/**
 * Requests that wait on a workflow are bounded (decision 0091): with no worker serving the task queue, a
 * refund or a prepay cancel answers 202 after WORKFLOW_WAIT_SECONDS (the work goes on; the object shows it
 * when done), and a prepay update answers 503, safe to repeat. Nothing hangs, and nothing is done twice.
 * A cancel retried while its workflow has decided but not yet written the prepay's row answers for the
 * workflow, never for the stale row.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Client, Connection } from '@temporalio/client';
import { installationOf } from '../../src/db/repositories/installation.ts';
import { prepayWorkflowId } from '../../src/domain/prepay.ts';
import { connectTemporal } from '../../src/temporal/client.ts';
import { statusQuery } from '../../src/workflows/prepay.ts';
import { client } from '../helpers/http.ts';
import { appInfo } from '../helpers/apps.ts';
import { startStack, uniqueId, type TestStack } from '../helpers/stack.ts';
import { addCard, createTenant, expectStatus } from '../helpers/tenants.ts';
import { eventually } from '../helpers/wait.ts';

let stack: TestStack;
let operator: ReturnType<typeof client>;
let temporal: { connection: Connection; client: Client };

beforeAll(async () => {
  stack = await startStack({ WORKFLOW_WAIT_SECONDS: '2' });
  operator = client(stack.url, stack.operatorKey);
  temporal = await connectTemporal({ address: stack.config.TEMPORAL_ADDRESS, namespace: stack.config.TEMPORAL_NAMESPACE });
});

afterAll(async () => {
  await temporal?.connection.close();
  await stack?.close();
});

describe('requests that wait on a workflow with no worker', () => {
  it('a refund answers 202 refund_pending, then completes once a worker runs; its retry answers the refund', async () => {
    const tenant = await createTenant(stack, 'bounded-refund');
    const credit = expectStatus(await operator('POST', '/payment/v1/recharge', { body: { amount: 30, namespace: tenant.id, payment_method: 'manual' } }), 200);
    const transId = credit.body.trans_id as string;
    const headers = { 'Idempotency-Key': `refund-${randomUUID()}` };
    const pending = await operator('POST', `/payment/v1/amount/${transId}/refund`, { body: { reason: 'customer asked' }, headers });
    expect([pending.status, pending.body]).toEqual([202, { trans_id: transId, status: 'refund_pending' }]);

    await stack.withWorker(async () => {
      await eventually(
        () => operator('GET', `/payment/v1/amount/${transId}?namespace=${tenant.id}`),
        (answer) => answer.body?.status === 'refunded',
      );
      const retried = expectStatus(await operator('POST', `/payment/v1/amount/${transId}/refund`, { body: { reason: 'customer asked' }, headers }), 200);
      expect(retried.body).toMatchObject({ trans_id: transId, status: 'refunded' });
    });
    const balance = expectStatus(await tenant.call('GET', `/payment/v1/balance?namespace=${tenant.id}`), 200).text;
    expect(/"balance":(-?[0-9.]+)/.exec(balance)![1]).toBe('0');
  });

  it('a prepay update answers 503 (safe to repeat) and a cancel 202; both take effect once a worker runs', async () => {
    const clusterId = uniqueId('bounded-cluster');
    expectStatus(await operator('PUT', `/operator/v1/clusters/${clusterId}`, { body: { cpu_core_month_usd: '10', memory_gib_month_usd: '0', storage_gib_month_usd: '0' } }), 200);
    const tenant = await createTenant(stack, 'bounded-prepay');
    const card = await addCard(tenant, 'tok_visa');
    const path = (prePayId: number) => `/v2alpha/teams/${tenant.id}/prepays/${prePayId}`;
    const prePayId = await stack.withWorker(async () => {
      const created = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${card}`, {
        body: { team_id: tenant.id, card_id: card, amount: '30', period: 3, auto_renewal: 1 },
      });
      expect([200, 202]).toContain(created.status);
      const id = created.body.pre_pay_id as number;
      await eventually(
        () => tenant.call('GET', path(id)),
        (answer) => answer.body?.status === 'awaiting_binding',
      );
      const app = appInfo(id, clusterId, { app_id: 'bounded-app', project_name: 'b' });
      expect(expectStatus(await tenant.call('POST', '/v2alpha/USD/callback_app_info', { body: app }), 200).body).toEqual({ code: 0, message: 'success' });
      return id;
    });

    const refused = await tenant.call('PUT', `${path(prePayId)}/auto_renewal`, { body: { auto_renewal: 0 } });
    expect([refused.status, refused.body.error]).toEqual([503, { type: 'service_unavailable' }]);
    const cancelKey = { 'Idempotency-Key': `cancel-${randomUUID()}` };
    const cancel = await operator('POST', `${path(prePayId)}/cancel`, { body: { reason: 'customer asked' }, headers: cancelKey });
    expect([cancel.status, cancel.body.pre_pay_id, cancel.body.status]).toEqual([202, prePayId, 'active']);

    await stack.withWorker(async () => {
      const canceled = await eventually(
        () => tenant.call('GET', path(prePayId)),
        (answer) => answer.body?.status === 'canceled',
      );
      expect(Number(canceled.body.refunded_usd)).toBeGreaterThan(0);
      // The retry of the 202'd cancel answers the cancel it made; another cancel request is refused.
      const retried = await operator('POST', `${path(prePayId)}/cancel`, { body: { reason: 'customer asked' }, headers: cancelKey });
      expect([retried.status, retried.body.status]).toEqual([200, 'canceled']);
      const another = await operator('POST', `${path(prePayId)}/cancel`, { body: { reason: 'again' }, headers: { 'Idempotency-Key': `cancel-${randomUUID()}` } });
      expect([another.status, another.body.error]).toEqual([409, { type: 'conflict', field: 'pre_pay_id' }]);
    });
    const [refunds] = await stack.orm.em
      .fork()
      .execute<{ count: string }[]>(`select count(*)::text as count from sandbox_refunds r join sandbox_charges c on c.charge_id = r.charge_id where c.idempotency_key like ?`, [
        `%prepay-${prePayId}-cycle-1`,
      ]);
    expect(refunds!.count).toBe('1');
  });
  it('a cancel retried after its workflow decided but before the prepay row says so answers 202, never a 409 that says the prepay can still be changed', async () => {
    const tenant = await createTenant(stack, 'bounded-cancel');
    const card = await addCard(tenant, 'tok_visa');
    const path = (prePayId: number) => `/v2alpha/teams/${tenant.id}/prepays/${prePayId}`;
    await stack.withWorker(async () => {
      const created = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${card}`, {
        body: { team_id: tenant.id, card_id: card, amount: '30', period: 3, auto_renewal: 1 },
      });
      expect([200, 202]).toContain(created.status);
      const prePayId = created.body.pre_pay_id as number;
      await eventually(
        () => tenant.call('GET', path(prePayId)),
        (answer) => answer.body?.status === 'awaiting_binding',
      );

      // The read model's write waits behind this lock, as behind a starved worker: the workflow has
      // canceled and refunded (paid, not bound yet: nothing else writes the row on the way), its row
      // still says `awaiting_binding`.
      const holder = new pg.Client({ connectionString: stack.config.DATABASE_URL });
      await holder.connect();
      try {
        await holder.query('begin');
        await holder.query('select id from prepays where id = $1 for no key update', [prePayId]);
        const cancelKey = { 'Idempotency-Key': `cancel-${randomUUID()}` };
        const first = await operator('POST', `${path(prePayId)}/cancel`, { body: { reason: 'customer asked' }, headers: cancelKey });
        expect([first.status, first.body.status]).toEqual([202, 'awaiting_binding']);
        // The workflow's own view: canceled (and refunded) while the row still says active.
        const workflow = temporal.client.workflow.getHandle(prepayWorkflowId(await installationOf(stack.orm), prePayId));
        await eventually(
          () => workflow.query(statusQuery),
          (view) => view.status === 'canceled',
        );
        expect(expectStatus(await tenant.call('GET', path(prePayId)), 200).body.status).toBe('awaiting_binding');

        const retried = await operator('POST', `${path(prePayId)}/cancel`, { body: { reason: 'customer asked' }, headers: cancelKey });
        expect([retried.status, retried.body.pre_pay_id]).toEqual([202, prePayId]);
        const another = await operator('POST', `${path(prePayId)}/cancel`, { body: { reason: 'again' }, headers: { 'Idempotency-Key': `cancel-${randomUUID()}` } });
        expect([another.status, another.body.error, another.body.message]).toEqual([
          409,
          { type: 'conflict', field: 'pre_pay_id' },
          `Prepay ${prePayId} is canceled; it can no longer be changed.`,
        ]);

        await holder.query('commit');
        await eventually(
          () => tenant.call('GET', path(prePayId)),
          (answer) => answer.body?.status === 'canceled',
        );
        const settled = await operator('POST', `${path(prePayId)}/cancel`, { body: { reason: 'customer asked' }, headers: cancelKey });
        expect([settled.status, settled.body.status]).toEqual([200, 'canceled']);
      } finally {
        await holder.end();
      }
    });
  });
});
