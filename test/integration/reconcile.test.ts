/**
 * The reconciliation (decision 0080) against PostgreSQL, the Temporal dev server and a worker: each broken
 * state a crash (or an operator's Terminate) can leave is made directly, ReconcileWorkflow runs once on
 * the test worker's queue (scoped to the test's tenant), the state is repaired and an event recorded, and
 * a second run changes nothing. Last, the schedule a worker makes sure of at start-up.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client, type Connection } from '@temporalio/client';
import { getAddress } from 'viem';
import { transferMovementId } from '../../src/chain/identity.ts';
import { findSubscription } from '../../src/db/repositories/subscriptions.ts';
import { creditTransferWorkflowId } from '../../src/domain/token-transfer.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';
import type { Installation } from '../../src/domain/installation.ts';
import { prepayWorkflowId } from '../../src/domain/prepay.ts';
import { subscriptionWorkflowId } from '../../src/domain/subscriptions.ts';
import { tenantBalances } from '../../src/ledger/ledger.ts';
import { connectTemporal } from '../../src/temporal/client.ts';
import { startCardPrepay, startTokenPrepay } from '../../src/temporal/prepays.ts';
import { ensureReconcileSchedule, RECONCILE_SCHEDULE_ID } from '../../src/temporal/schedules.ts';
import { ensureSubscriptionWorkflow } from '../../src/temporal/subscriptions.ts';
import { createWorker } from '../../src/worker.ts';
import { createCardGateway } from '../../src/gateway/index.ts';
import type { ReconcileResult } from '../../src/workflows/index.ts';
import { client as http } from '../helpers/http.ts';
import { startStack, uniqueId, type TestStack } from '../helpers/stack.ts';
import { createTenant, expectStatus } from '../helpers/tenants.ts';
import { sqlOn } from '../helpers/db.ts';
import { createRegion } from '../helpers/catalog.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';
import { until } from '../helpers/wait.ts';
import { insertEvent } from '../../src/db/repositories/events.ts';
import { createEndpoint, fanOutEvent } from '../../src/db/repositories/webhooks.ts';
import { newSigningSecret } from '../../src/webhooks/signing.ts';

const CHAIN_ID = 31337;
const HOUR_MS = 3600_000;

let stack: TestStack;
let temporal: { connection: Connection; client: Client };
let stopWorker: () => Promise<void>;
let installation: Installation;
/** the prepay's workflow id in this test database's installation */
const prepayWf = (prePayId: number) => prepayWorkflowId(installation, prePayId);
/** workflows a test left running; terminated at the end */
const leftRunning: string[] = [];

beforeAll(async () => {
  stack = await startStack();
  temporal = await connectTemporal({ address: stack.config.TEMPORAL_ADDRESS, namespace: stack.config.TEMPORAL_NAMESPACE });
  stopWorker = await stack.startWorker();
  installation = await installationOf(stack.orm);
});

afterAll(async () => {
  for (const workflowId of leftRunning)
    await temporal.client.workflow
      .getHandle(workflowId)
      .terminate('test over')
      .catch(() => undefined);
  await stopWorker?.();
  await temporal?.connection.close();
  await stack?.close();
});

const sql = sqlOn(() => stack.orm);

async function reconcile(tenantId: string): Promise<ReconcileResult> {
  return temporal.client.workflow.execute('reconcileWorkflow', {
    taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
    workflowId: uniqueId('reconcile-test'),
    args: [{ tenantId, graceSeconds: 600 }],
  });
}

async function reconcileEvents(tenantId: string): Promise<{ id: string; type: string; data: Record<string, unknown> }[]> {
  return sql(`select id, type, data from events where tenant_id = ? and type like 'reconcile.%' order by created_at, id`, [tenantId]);
}

async function insertPrepay(tenantId: string, fields: { paymentType: 'USD' | 'USDT_ERC20'; status?: string; ageMs?: number; deadline?: Date }): Promise<number> {
  const createdAt = new Date(Date.now() - (fields.ageMs ?? HOUR_MS));
  const [row] = await sql<{ id: string }>(
    `insert into prepays (tenant_id, payment_type, period, auto_renewal, status, amount, usd, payment_deadline, created_at, updated_at)
     values (?, ?, 1, false, ?, 25, 25, ?, ?, ?) returning id::text as id`,
    [
      tenantId,
      fields.paymentType,
      fields.status ?? 'awaiting_payment',
      fields.paymentType === 'USD' ? null : (fields.deadline ?? new Date(Date.now() + HOUR_MS)),
      createdAt,
      createdAt,
    ],
  );
  return Number(row!.id);
}

async function insertDepositAddress(tenantId: string, prePayId: number): Promise<string> {
  const address = `0x${randomBytes(20).toString('hex')}`;
  await sql(`insert into deposit_addresses (address, chain_id, tenant_id, pre_pay_id, token, derivation_index) values (?, ?, ?, ?, 'USDT_ERC20', ?)`, [
    address,
    CHAIN_ID,
    tenantId,
    prePayId,
    prePayId,
  ]);
  return address;
}

async function prepayRow(prePayId: number) {
  const [row] = await sql<{ status: string; failure_code: string | null; workflow_closed_status: string | null; workflow_closed_at: Date | null }>(
    'select status, failure_code, workflow_closed_status, workflow_closed_at from prepays where id = ?',
    [prePayId],
  );
  return row!;
}

async function waitForVisibility(workflowId: string, status: string): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    for await (const _ of temporal.client.workflow.list({ query: `WorkflowId = '${workflowId}' AND ExecutionStatus = '${status}'` })) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${workflowId} never listed as ${status}`);
}

async function newPlan(): Promise<{ planId: string; region: string }> {
  const operator = http(stack.url, stack.operatorKey);
  const region = await createRegion(stack, 'test region');
  const json = JSON.stringify({ region, type: 'C', level: 'S', name: uniqueId('Plan'), bill_period: 'M', description: '1 CPU Core', status: 'available' });
  const plan = expectStatus(await operator('POST', '/operator/v1/plans', { rawBody: `${json.slice(0, -1)},"price":10}` }), 201).body as { plan_id: string };
  return { planId: plan.plan_id, region };
}

/** A subscription row as checkout writes it (the first period's charge is not needed here), without its workflow. */
async function insertSubscription(tenantId: string): Promise<{ id: string; workflowId: string }> {
  const { planId, region } = await newPlan();
  const id = uniqueId('sub');
  const workflowId = subscriptionWorkflowId(installation, tenantId, planId);
  const anchor = new Date(Date.now() - HOUR_MS);
  const end = new Date(anchor.getTime() + 30 * 24 * HOUR_MS);
  await sql(
    `insert into subscriptions (id, tenant_id, plan_id, region, status, bill_period, price, anchor, period, current_period_start, current_period_end, workflow_id, created_at, updated_at)
     values (?, ?, ?, ?, 'active', 'M', 10, ?, 1, ?, ?, ?, ?, ?)`,
    [id, tenantId, planId, region, anchor, anchor, end, workflowId, anchor, anchor],
  );
  return { id, workflowId };
}

describe('reconcileWorkflow', () => {
  it('closes a card prepay whose workflow never started as payment_failed/abandoned, and nothing can charge it afterwards', async () => {
    const tenant = await createTenant(stack);
    const prePayId = await insertPrepay(tenant.id, { paymentType: 'USD' });
    const young = await insertPrepay(tenant.id, { paymentType: 'USD', ageMs: 1000 });

    const first = await reconcile(tenant.id);
    expect(first.errors).toEqual([]);
    expect(first.repairs).toEqual([expect.objectContaining({ action: 'prepay_abandoned', item: `prepay-${prePayId}`, workflowId: prepayWf(prePayId) })]);
    expect(await prepayRow(prePayId)).toMatchObject({ status: 'payment_failed', failure_code: 'abandoned', workflow_closed_status: null });
    // Within the grace period the API may still be starting it: left alone.
    expect(await prepayRow(young)).toMatchObject({ status: 'awaiting_payment', failure_code: null });
    const events = await reconcileEvents(tenant.id);
    expect(events).toEqual([expect.objectContaining({ type: 'reconcile.prepay_abandoned', data: expect.objectContaining({ pre_pay_id: prePayId, failure_code: 'abandoned' }) })]);

    // The id is taken by the tombstone: a client's late retry cannot start the real workflow and charge.
    const tombstone = await temporal.client.workflow.getHandle(prepayWf(prePayId)).describe();
    expect(tombstone.type).toBe('abandonedPrepayWorkflow');
    await expect(
      startCardPrepay(temporal.client, installation, stack.config.TEMPORAL_TASK_QUEUE, {
        prePayId,
        tenantId: tenant.id,
        paymentType: 'USD',
        cardId: 'card_never',
        period: 1,
        autoRenewal: false,
        amount: '25',
      }),
    ).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    expect(await sql('select 1 from prepay_payments where prepay_id = ?', [prePayId])).toEqual([]);

    const second = await reconcile(tenant.id);
    expect(second.repairs).toEqual([]);
    expect(second.errors).toEqual([]);
    expect(await reconcileEvents(tenant.id)).toEqual(events);
    expect(await prepayRow(prePayId)).toMatchObject({ status: 'payment_failed', failure_code: 'abandoned' });
  });

  it('starts the workflow of a token prepay whose deposit address was handed out, and abandons one that never got an address', async () => {
    const tenant = await createTenant(stack);
    const prePayId = await insertPrepay(tenant.id, { paymentType: 'USDT_ERC20' });
    const address = await insertDepositAddress(tenant.id, prePayId);
    const withoutAddress = await insertPrepay(tenant.id, { paymentType: 'USDT_ERC20' });
    leftRunning.push(prepayWf(prePayId));

    const first = await reconcile(tenant.id);
    expect(first.errors).toEqual([]);
    expect(first.repairs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'prepay_started', item: `prepay-${prePayId}` }),
        expect.objectContaining({ action: 'prepay_abandoned', item: `prepay-${withoutAddress}` }),
      ]),
    );
    expect(first.repairs).toHaveLength(2);
    const described = await temporal.client.workflow.getHandle(prepayWf(prePayId)).describe();
    expect(described).toMatchObject({ type: 'prepayWorkflow', status: { name: 'RUNNING' } });
    const view = await temporal.client.workflow.getHandle(prepayWf(prePayId)).query<{ status: string; tokenPayment: { depositAddress: string } | null }>('status');
    expect(view.status).toBe('awaiting_payment');
    expect(view.tokenPayment?.depositAddress).toBe(getAddress(address));
    expect(await prepayRow(withoutAddress)).toMatchObject({ status: 'payment_failed', failure_code: 'abandoned' });
    const events = await reconcileEvents(tenant.id);
    expect(events.map((event) => event.type).sort()).toEqual(['reconcile.prepay_abandoned', 'reconcile.prepay_started']);

    await waitForVisibility(prepayWf(prePayId), 'Running');
    const second = await reconcile(tenant.id);
    expect(second).toMatchObject({ repairs: [], errors: [] });
    expect(await reconcileEvents(tenant.id)).toEqual(events);
  });

  it('a token prepay paid in full while its workflow did not run is paid once its workflow is started: the transfers are re-sent and counted, never credited twice', async () => {
    const tenant = await createTenant(stack);
    const prePayId = await insertPrepay(tenant.id, { paymentType: 'USDT_ERC20' });
    const address = await insertDepositAddress(tenant.id, prePayId);
    leftRunning.push(prepayWf(prePayId));
    // What deliverTransfer does when the prepay's workflow does not exist: the credit workflow, then `credited`.
    const transfer = {
      chainId: CHAIN_ID,
      txHash: `0x${randomBytes(32).toString('hex')}`,
      logIndex: 0,
      token: 'USDT_ERC20' as const,
      amount: '25',
      from: `0x${randomBytes(20).toString('hex')}`,
      to: address,
      blockNumber: 7,
    };
    await temporal.client.workflow.execute('creditTransferWorkflow', {
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      workflowId: creditTransferWorkflowId(installation, transfer),
      args: [{ transfer, tenantId: tenant.id, prePayId, reason: 'no_open_prepay' }],
    });
    await sql(
      `insert into chain_transfers (chain_id, tx_hash, log_index, token, from_address, to_address, amount, block_number, block_hash, confirmations, status, source, tenant_id, pre_pay_id, movement_id)
       values (?, ?, 0, 'USDT_ERC20', ?, ?, 25, 7, ?, 12, 'credited', 'watcher', ?, ?, ?)`,
      [CHAIN_ID, transfer.txHash, transfer.from, address, `0x${randomBytes(32).toString('hex')}`, tenant.id, prePayId, transferMovementId(transfer)],
    );
    expect((await tenantBalances(stack.orm.em.fork(), tenant.id)).USDT_ERC20.toFixed()).toBe('25');

    const first = await reconcile(tenant.id);
    expect(first.repairs).toEqual([expect.objectContaining({ action: 'prepay_started', item: `prepay-${prePayId}` })]);
    const events = await reconcileEvents(tenant.id);
    expect(events).toEqual([expect.objectContaining({ type: 'reconcile.prepay_started', data: expect.objectContaining({ transfers_resent: 1 }) })]);
    for (let i = 0; i < 100 && (await prepayRow(prePayId)).status === 'awaiting_payment'; i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await prepayRow(prePayId)).toMatchObject({ status: 'awaiting_binding' });
    // Paid from the balance the transfer was credited to, once: nothing left over, nothing credited again.
    expect((await tenantBalances(stack.orm.em.fork(), tenant.id)).USDT_ERC20.toFixed()).toBe('0');
    expect(await sql('select 1 from money_movements where id = ?', [transferMovementId(transfer)])).toHaveLength(1);

    const second = await reconcile(tenant.id);
    expect(second).toMatchObject({ repairs: [], errors: [] });
    expect(await reconcileEvents(tenant.id)).toEqual(events);
  });

  it('a token prepay started after its deadline still counts a re-sent transfer mined before the deadline (its block time is kept)', async () => {
    const tenant = await createTenant(stack);
    const deadline = new Date(Date.now() - 5 * 60 * 1000); // passed 5 minutes ago: inside the 30-minute confirmation grace
    const prePayId = await insertPrepay(tenant.id, { paymentType: 'USDT_ERC20', deadline });
    const address = await insertDepositAddress(tenant.id, prePayId);
    leftRunning.push(prepayWf(prePayId));
    const minedAt = new Date(deadline.getTime() - 60_000);
    const transfer = {
      chainId: CHAIN_ID,
      txHash: `0x${randomBytes(32).toString('hex')}`,
      logIndex: 0,
      token: 'USDT_ERC20' as const,
      amount: '25',
      from: `0x${randomBytes(20).toString('hex')}`,
      to: address,
      blockNumber: 8,
    };
    await temporal.client.workflow.execute('creditTransferWorkflow', {
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      workflowId: creditTransferWorkflowId(installation, transfer),
      args: [{ transfer, tenantId: tenant.id, prePayId, reason: 'no_open_prepay' }],
    });
    await sql(
      `insert into chain_transfers (chain_id, tx_hash, log_index, token, from_address, to_address, amount, block_number, block_hash, block_time, confirmations, status, source, tenant_id, pre_pay_id, movement_id)
       values (?, ?, 0, 'USDT_ERC20', ?, ?, 25, 8, ?, ?, 12, 'credited', 'watcher', ?, ?, ?)`,
      [CHAIN_ID, transfer.txHash, transfer.from, address, `0x${randomBytes(32).toString('hex')}`, minedAt, tenant.id, prePayId, transferMovementId(transfer)],
    );

    const first = await reconcile(tenant.id);
    expect(first.repairs).toEqual([expect.objectContaining({ action: 'prepay_started', item: `prepay-${prePayId}` })]);
    for (let i = 0; i < 100 && (await prepayRow(prePayId)).status === 'awaiting_payment'; i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await prepayRow(prePayId)).toMatchObject({ status: 'awaiting_binding' });
    expect((await tenantBalances(stack.orm.em.fork(), tenant.id)).USDT_ERC20.toFixed()).toBe('0');
  });

  it('starts the workflow of a subscription checked out without one (same id, idempotently)', async () => {
    const tenant = await createTenant(stack);
    const subscription = await insertSubscription(tenant.id);
    leftRunning.push(subscription.workflowId);

    const first = await reconcile(tenant.id);
    expect(first.errors).toEqual([]);
    expect(first.repairs).toEqual([expect.objectContaining({ action: 'subscription_started', workflowId: subscription.workflowId })]);
    const described = await temporal.client.workflow.getHandle(subscription.workflowId).describe();
    expect(described).toMatchObject({ type: 'subscriptionWorkflow', status: { name: 'RUNNING' }, memo: { subscriptionId: subscription.id } });
    const events = await reconcileEvents(tenant.id);
    expect(events).toEqual([expect.objectContaining({ type: 'reconcile.subscription_started', data: expect.objectContaining({ subscription_id: subscription.id }) })]);

    await waitForVisibility(subscription.workflowId, 'Running');
    const second = await reconcile(tenant.id);
    expect(second).toMatchObject({ repairs: [], errors: [] });
    expect(await reconcileEvents(tenant.id)).toEqual(events);
    expect((await findSubscription(stack.orm.em.fork(), subscription.id))?.status).toBe('active');
  });

  it('flags a prepay and a subscription whose workflows an operator terminated while their rows say live', async () => {
    const tenant = await createTenant(stack);
    const prePayId = await insertPrepay(tenant.id, { paymentType: 'USDT_ERC20' });
    const address = await insertDepositAddress(tenant.id, prePayId);
    await startTokenPrepay(temporal.client, installation, stack.config.TEMPORAL_TASK_QUEUE, {
      prePayId,
      tenantId: tenant.id,
      paymentType: 'USDT_ERC20',
      cardId: null,
      period: 1,
      autoRenewal: false,
      amount: '25',
      usd: '25',
      tokenPayment: { depositAddress: getAddress(address), deadline: new Date(Date.now() + HOUR_MS).toISOString() },
    });
    const subscription = await insertSubscription(tenant.id);
    const row = await findSubscription(stack.orm.em.fork(), subscription.id);
    await ensureSubscriptionWorkflow(temporal.client, installation, stack.config.TEMPORAL_TASK_QUEUE, row!);
    await temporal.client.workflow.getHandle(prepayWf(prePayId)).terminate('operator pressed Terminate');
    await temporal.client.workflow.getHandle(subscription.workflowId).terminate('operator pressed Terminate');
    await waitForVisibility(prepayWf(prePayId), 'Terminated');
    await waitForVisibility(subscription.workflowId, 'Terminated');

    const first = await reconcile(tenant.id);
    expect(first.errors).toEqual([]);
    expect(first.repairs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'workflow_closed', item: `prepay-${prePayId}`, closeStatus: 'TERMINATED' }),
        expect.objectContaining({ action: 'workflow_closed', item: `subscription-${subscription.id}`, closeStatus: 'TERMINATED' }),
      ]),
    );
    expect(first.repairs).toHaveLength(2);
    // The status stays what the customer was last told; the flag is for the operator.
    expect(await prepayRow(prePayId)).toMatchObject({ status: 'awaiting_payment', workflow_closed_status: 'TERMINATED' });
    const [flagged] = await sql<{ status: string; workflow_closed_status: string }>('select status, workflow_closed_status from subscriptions where id = ?', [subscription.id]);
    expect(flagged).toEqual({ status: 'active', workflow_closed_status: 'TERMINATED' });
    const events = await reconcileEvents(tenant.id);
    expect(events).toHaveLength(2);
    expect(events.every((event) => event.type === 'reconcile.workflow_closed' && event.data.close_status === 'TERMINATED')).toBe(true);

    const second = await reconcile(tenant.id);
    expect(second).toMatchObject({ repairs: [], errors: [] });
    expect(await reconcileEvents(tenant.id)).toEqual(events);
  });

  it('credits a transfer signalled to a prepay workflow that closed without crediting it, through CreditTransferWorkflow', async () => {
    const tenant = await createTenant(stack);
    const prePayId = await insertPrepay(tenant.id, { paymentType: 'USDT_ERC20', status: 'expired' });
    const address = await insertDepositAddress(tenant.id, prePayId);
    const txHash = `0x${randomBytes(32).toString('hex')}`;
    const old = new Date(Date.now() - HOUR_MS);
    const [transfer] = await sql<{ id: string }>(
      `insert into chain_transfers (chain_id, tx_hash, log_index, token, from_address, to_address, amount, block_number, block_hash, confirmations, status, source, tenant_id, pre_pay_id, created_at, updated_at)
       values (?, ?, 3, 'USDT_ERC20', ?, ?, 12.345678, 100, ?, 12, 'signalled', 'watcher', ?, ?, ?, ?) returning id::text as id`,
      [CHAIN_ID, txHash, `0x${randomBytes(20).toString('hex')}`, address, `0x${randomBytes(32).toString('hex')}`, tenant.id, prePayId, old, old],
    );
    const identity = { chainId: CHAIN_ID, txHash, logIndex: 3 };
    const before = (await tenantBalances(stack.orm.em.fork(), tenant.id)).USDT_ERC20;

    const first = await reconcile(tenant.id);
    expect(first.errors).toEqual([]);
    expect(first.repairs).toEqual([
      expect.objectContaining({ action: 'transfer_credited', item: `chain-transfer-${transfer!.id}`, workflowId: creditTransferWorkflowId(installation, identity) }),
    ]);
    await temporal.client.workflow.getHandle(creditTransferWorkflowId(installation, identity)).result();
    const [row] = await sql<{ status: string; movement_id: string }>('select status, movement_id from chain_transfers where id = ?', [transfer!.id]);
    expect(row).toEqual({ status: 'credited', movement_id: transferMovementId(identity) });
    expect((await tenantBalances(stack.orm.em.fork(), tenant.id)).USDT_ERC20.minus(before).toFixed()).toBe('12.345678');
    const events = await reconcileEvents(tenant.id);
    expect(events).toEqual([
      expect.objectContaining({ type: 'reconcile.transfer_credited', data: expect.objectContaining({ trans_id: transferMovementId(identity), prepay_workflow: 'NOT_FOUND' }) }),
    ]);
    expect(await sql(`select 1 from events where tenant_id = ? and type = 'transfer.credited'`, [tenant.id])).toHaveLength(1);

    const second = await reconcile(tenant.id);
    expect(second).toMatchObject({ repairs: [], errors: [] });
    expect(await reconcileEvents(tenant.id)).toEqual(events);
    expect((await tenantBalances(stack.orm.em.fork(), tenant.id)).USDT_ERC20.minus(before).toFixed()).toBe('12.345678');
  });

  it('starts the delivery of a webhook whose workflow a crash never started, and only once', async () => {
    const tenant = await createTenant(stack);
    const hooks = await startWebhookReceiver();
    try {
      const em = stack.orm.em.fork();
      const endpointId = `we_${tenant.id}`;
      const eventId = `evt_${tenant.id}`;
      // the outbox row was committed with its event, then the process died before starting the workflow
      await createEndpoint(em, { id: endpointId, tenantId: tenant.id, url: hooks.url, description: '', eventTypes: null, secret: newSigningSecret() }, new Date());
      await insertEvent(em, { id: eventId, tenantId: tenant.id, type: 'prepay.paid', data: { pre_pay_id: 1 }, createdAt: new Date() });
      await fanOutEvent(em, { id: eventId, tenantId: tenant.id, type: 'prepay.paid' }, new Date(Date.now() - 20 * 60_000));

      const first = await reconcile(tenant.id);
      expect(first.errors).toEqual([]);
      expect(first.repairs).toEqual([expect.objectContaining({ action: 'webhook_deliveries_started', item: 'webhook-outbox' })]);
      await until(async () => (await sql<{ status: string }>('select status from webhook_deliveries where event_id = ?', [eventId]))[0]!.status === 'delivered');
      expect(hooks.received.map((request) => request.headers['webhook-id'])).toEqual([eventId]);

      const second = await reconcile(tenant.id);
      expect(second.repairs).toEqual([]);
      expect(hooks.received).toHaveLength(1);
    } finally {
      await hooks.close();
    }
  });
});

describe('the reconcile schedule', () => {
  afterAll(async () => {
    await temporal.client.schedule
      .getHandle(RECONCILE_SCHEDULE_ID)
      .delete()
      .catch(() => undefined);
  });

  it('exists after a worker starts, runs reconcileWorkflow on the worker task queue with overlap SKIP, and survives a second worker and a pause', async () => {
    const config = { ...stack.config, RECONCILE_SCHEDULE: 'on' as const, RECONCILE_INTERVAL_SECONDS: 120, RECONCILE_GRACE_SECONDS: 900 };
    const { worker, close, reconcileSchedule } = await createWorker({ config, orm: stack.orm, gateway: createCardGateway(config, { orm: stack.orm }) });
    // `updated` when another file's worker process (processes.test.ts) created it for its own queue first.
    expect(['created', 'updated']).toContain(reconcileSchedule);
    await worker.runUntil(Promise.resolve());
    await close();

    const handle = temporal.client.schedule.getHandle(RECONCILE_SCHEDULE_ID);
    const described = await handle.describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'reconcileWorkflow', workflowId: 'reconcile', taskQueue: config.TEMPORAL_TASK_QUEUE });
    expect(described.action.args).toEqual([expect.objectContaining({ graceSeconds: 900 })]);
    // each scheduled run is listed in the Temporal UI with its summary (decision 0101)
    expect(described.action.staticSummary).toBe('Reconcile · repair what crashes left behind · every 2 min');
    expect(described.spec.intervals).toEqual([expect.objectContaining({ every: 120_000 })]);
    expect(described.policies.overlap).toBe('SKIP');
    expect(described.state.paused).toBe(false);

    const settings = {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      intervalSeconds: 120,
      graceSeconds: 900,
      prepayTimings: (described.action.args?.[0] as { prepayTimings: Record<string, number> }).prepayTimings,
    };
    // Two workers starting at once: one creates nothing new, neither fails.
    expect(await Promise.all([ensureReconcileSchedule(temporal.client, settings), ensureReconcileSchedule(temporal.client, settings)])).toEqual(['unchanged', 'unchanged']);
    // An operator's pause survives a deploy that changes the interval.
    await handle.pause('operator: investigating');
    expect(await ensureReconcileSchedule(temporal.client, { ...settings, intervalSeconds: 180 })).toBe('updated');
    const updated = await handle.describe();
    expect(updated.spec.intervals).toEqual([expect.objectContaining({ every: 180_000 })]);
    expect(updated.state).toMatchObject({ paused: true, note: 'operator: investigating' });
  });
});
